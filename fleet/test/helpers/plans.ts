// Reading the media plans the fleet sends the boxes, as a box's edge reads them.
import type { MqttClient } from 'mqtt';
import { deviceTopic, mediaPlanCodec, type MediaPlan } from '@diemcau/shared';

/**
 * Resolves with the first plan on the edge's media topic that satisfies
 * `want`; rejects on a plan that does not decode, or after 10 s.
 */
export function planWhere(client: MqttClient, edgeId: string, want: (p: MediaPlan) => boolean): Promise<MediaPlan> {
  const topic = deviceTopic(edgeId, 'media');
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error(`no matching plan for ${edgeId}`)), 10_000);
    const onMessage = (got: string, payload: Buffer) => {
      if (got !== topic) return;
      const d = mediaPlanCodec.decode(payload);
      if (!d.ok) return reject(d.error);
      if (!want(d.value)) return;
      clearTimeout(guard);
      client.off('message', onMessage);
      resolve(d.value);
    };
    client.on('message', onMessage);
    // Subscribing (again) makes the broker send the retained plan.
    client.unsubscribe(topic, () => client.subscribe(topic, { qos: 1 }));
  });
}
