import type { HostSummary, TvPower } from '@diemcau/shared';
import { judgePicture, judgeSound, lastFrameOf, type PictureThresholds, type SoundThresholds } from '../analysis.js';
import { FRAME_H, FRAME_W } from '../real/camera.js';
import { SAMPLE_RATE } from '../real/microphone.js';
import type { DrmConnector } from '../real/scan.js';
import type { Camera, Display, GreyFrame, Host, Microphone, Power, PowerRequest } from '../types.js';
import { cameraHealth, displayHealth, microphoneHealth } from '../verdicts.js';
import type { FaultInjector } from './faults.js';
import { synthPicture, synthSound } from './signals.js';

// Simulated camera, microphone, TV, power and host. Their state is the set of
// injected faults; what they measure is synthesised and then judged by the
// same code as the real devices, so a fault yields exactly the real report.

const FRAMES = 5;

export function createSimCamera(faults: FaultInjector, thresholds: PictureThresholds): Camera {
  const list = async () =>
    faults.has('camera-unplugged') ? [] : [{ node: '/dev/video0', name: 'Simulated USB camera' }];
  let last: GreyFrame | null = null;
  return {
    list,
    async check() {
      const devices = await list();
      if (devices.length === 0) {
        last = null;
        return cameraHealth({ devices });
      }
      const kind = faults.has('camera-black') ? 'black' : faults.has('camera-frozen') ? 'frozen' : 'live';
      const frames = synthPicture(kind, FRAME_W, FRAME_H, FRAMES);
      last = lastFrameOf(frames, FRAME_W, FRAME_H);
      const verdict = judgePicture(frames, FRAME_W * FRAME_H, thresholds);
      return cameraHealth({ devices, device: devices[0]!.node, verdict });
    },
    lastFrame: () => last,
  };
}

export function createSimMicrophone(faults: FaultInjector, thresholds: SoundThresholds): Microphone {
  const list = async () => (faults.has('mic-unplugged') ? [] : [{ id: 'hw:1,0', name: 'Simulated USB microphone' }]);
  return {
    list,
    async check() {
      const devices = await list();
      if (devices.length === 0) return microphoneHealth({ devices });
      const kind = faults.has('mic-muted') ? 'muted' : faults.has('mic-clipping') ? 'clipping' : 'speech';
      const verdict = judgeSound(synthSound(kind, SAMPLE_RATE, 1), SAMPLE_RATE, thresholds);
      return microphoneHealth({ devices, device: devices[0]!.id, verdict });
    },
  };
}

/** TV power is part of the simulated world: setPower(false) is the 'tv-off' state. */
export function createSimDisplay(faults: FaultInjector): Display {
  const connectors = (): DrmConnector[] => [
    {
      name: 'card0-HDMI-A-1',
      status: faults.has('tv-disconnected') ? 'disconnected' : 'connected',
      enabled: !faults.has('tv-disconnected'),
      mode: faults.has('tv-disconnected') ? null : '1920x1080',
    },
  ];
  const power = async (): Promise<TvPower> =>
    faults.has('tv-disconnected') ? 'unknown' : faults.has('tv-off') ? 'standby' : 'on';
  return {
    async check() {
      return displayHealth(connectors(), await power());
    },
    async setPower(on) {
      if (faults.has('tv-disconnected')) return 'done'; // CEC sends into the void, as on a real box
      if (on) faults.clear('tv-off');
      else faults.inject('tv-off');
      return 'done';
    },
    power,
  };
}

/** Records what was asked instead of doing it; the simulator decides what a "reboot" means for it. */
export function createSimPower(): Power & { readonly requests: readonly PowerRequest[] } {
  const requests: PowerRequest[] = [];
  const listeners = new Set<(r: PowerRequest) => void>();
  const record = async (action: PowerRequest['action'], reason: string) => {
    const req: PowerRequest = { action, reason, at: new Date().toISOString() };
    requests.push(req);
    for (const l of listeners) {
      try {
        l(req);
      } catch {
        // The request is recorded; an observer's bug does not undo it.
      }
    }
  };
  return {
    requests,
    reboot: (reason) => record('reboot', reason),
    restartAgent: (reason) => record('restart-agent', reason),
    onRequest(l) {
      listeners.add(l);
      return () => void listeners.delete(l);
    },
  };
}

export function createSimHost(serial: string): Host {
  const summary: HostSummary = {
    manufacturer: 'Diemcau',
    model: 'Simulated room kit',
    serial,
    uuid: `00000000-0000-4000-8000-${Buffer.from(serial).toString('hex').padStart(12, '0').slice(-12)}`,
    os: 'Debian GNU/Linux 12 (simulated)',
    kernel: 'simulated',
    arch: process.arch,
    hostname: `sim-${serial}`.slice(0, 200),
  };
  return { summary: async () => ({ ...summary }) };
}
