// `npm run test:image`, the box's sound on the booted image: its audio server
// (diemcau-audio: PipeWire with the WebRTC echo canceller) and session manager
// (diemcau-audio-session: WirePlumber) are active, the canceller's source is
// there, and WirePlumber has the VM's onboard sound card (an HD Audio codec,
// see vm.ts). While something records the echo-cancelled microphone, as the
// media edge does in a meeting, the audio server holds the card's capture
// device; the agent's microphone check (a `self-test` command) must still
// record the microphone, not report it busy or broken. QEMU's line-in has
// no host sound behind it, so what the check records is silence.
import t from 'tap';
import { enrolledBox, missingImage, since } from './scenario.js';
import { waitFor } from './vm.js';

const AUDIO_UNITS = ['diemcau-audio.service', 'diemcau-audio-session.service'];
const REMOTE = '/run/diemcau-audio/pipewire-0';
const AEC_SOURCE = 'diemcau-aec-source';

interface CommandView {
  id: string;
  status: string;
  /** The box's answer; a self-test's output carries the peripherals' states. */
  result?: { output?: { ok: boolean; peripherals: { microphone: string } } } | null;
}

interface PwObject {
  type?: string;
  info?: { props?: Record<string, unknown> };
}

const missing = missingImage();
if (missing) {
  t.fail(missing);
} else {
  t.test("the audio units run, and the agent's microphone check records through them", async (t) => {
    const box = await enrolledBox(t, 'DMC-AUDIO-0006');
    await box.online(() => true, box.bootMs, 'the box online');
    const onlineS = since(box.vm.startedAt);
    await box.hooks({ kiosk: false });

    const states = await waitFor(
      async () => {
        const s = (await box.sh(`systemctl is-active ${AUDIO_UNITS.join(' ')} diemcau-edge.service || true`))
          .trim()
          .split('\n');
        return s.every((x) => x === 'active') ? s : undefined;
      },
      box.bootMs,
      'the audio units active',
      3000,
    ).catch(async (err: Error) => {
      t.comment(await box.sh(`systemctl status --no-pager --lines=20 ${AUDIO_UNITS.join(' ')} || true`));
      throw err;
    });
    t.same(states, ['active', 'active', 'active'], 'diemcau-audio, diemcau-audio-session and the edge active');

    t.match(await box.sh('cat /proc/asound/cards'), /HDA/, 'the kernel sees the onboard sound card');
    // The server's nodes, asked as the box's own tools ask (the socket the edge and the agent use).
    const nodes = await waitFor(
      async () => {
        const dump = JSON.parse(await box.sh(`pw-dump -N -r ${REMOTE}`)) as PwObject[];
        const props = dump.filter((o) => o.type === 'PipeWire:Interface:Node').map((o) => o.info?.props ?? {});
        const names = props.map((p) => String(p['node.name']));
        return names.includes(AEC_SOURCE) && props.some((p) => String(p['node.name']).startsWith('alsa_input.'))
          ? props
          : undefined;
      },
      120_000,
      `${AEC_SOURCE} and the card's microphone in the audio server`,
      3000,
    );
    const mic = nodes.find((p) => String(p['node.name']).startsWith('alsa_input.')) ?? {};
    t.comment(`the card's microphone in the audio server: ${JSON.stringify(mic)}`);
    t.pass(`the audio server offers ${AEC_SOURCE} and the card's microphone`);

    // Something records the echo-cancelled source, as the edge does in a meeting.
    await box.sh(
      `systemd-run --unit=diemcau-test-record --uid=diemcau --gid=audio ` +
        `/usr/bin/ffmpeg -nostdin -loglevel error -f alsa -i pipewire:SERVER=${REMOTE},NODE=${AEC_SOURCE} -t 600 -f null -`,
    );
    // The kernel's own view: who has each capture substream open.
    const owners =
      'for f in /proc/asound/card*/pcm*c/sub*/status; do pid=$(sed -n "s/^owner_pid *: *//p" $f); ' +
      '[ -n "$pid" ] && echo "$f: $(cat /proc/$pid/comm)"; done; true';
    const held = await waitFor(
      async () => {
        const who = (await box.sh(owners)).trim();
        return /pipewire/.test(who) ? who : undefined;
      },
      60_000,
      "the audio server holding the card's capture device",
      2000,
    ).catch(async (err: Error) => {
      t.comment(await box.sh('systemctl status --no-pager --lines=10 diemcau-test-record || true'));
      throw err;
    });
    t.comment(`capture device held:\n${held}`);
    t.pass("the audio server holds the card's capture device");

    const device = await box.device();
    /** A self-test asked of the agent; its microphone's state and the capture failures it logged. */
    const selfTest = async (): Promise<{ state: string | undefined; failures: string }> => {
      const since = (await box.sh('date +%s')).trim();
      const sent = await box.fleet.api<CommandView>('POST', `/api/v1/devices/${device?.id}/commands`, {
        type: 'self-test',
      });
      if (sent.status !== 202) throw new Error(`self-test: HTTP ${sent.status}`);
      const done = await waitFor(
        async () => {
          const r = await box.fleet.api<CommandView>('GET', `/api/v1/commands/${sent.body.id}`);
          return ['succeeded', 'failed', 'expired', 'rejected'].includes(r.body.status) ? r.body : undefined;
        },
        box.bootMs,
        'the self-test answered',
        2000,
      );
      if (done.status !== 'succeeded') throw new Error(`self-test: ${done.status}`);
      const failures = await box.sh(
        `journalctl -u diemcau-agent -o cat --since=@${since} | grep -i 'microphone capture failed' | tail -2 || true`,
      );
      return { state: done.result?.output?.peripherals.microphone, failures: failures.trim() };
    };
    /** The agent restarted with or without the setting that keeps it off the audio server. */
    const agentWith = async (direct: boolean): Promise<void> => {
      const line = 'DIEMCAU_AUDIO_SERVER=none';
      await box.sh(
        direct
          ? `grep -qxF '${line}' /etc/diemcau/agent.env || echo '${line}' >> /etc/diemcau/agent.env; systemctl restart diemcau-agent`
          : `sed -i '/^${line}$/d' /etc/diemcau/agent.env; systemctl restart diemcau-agent`,
      );
    };

    // As the agent did before it knew the audio server: the card opened directly, busy.
    await agentWith(true);
    const direct = await selfTest();
    t.comment(
      `opening the card directly: microphone ${direct.state}; ${direct.failures || 'no capture failure logged'}`,
    );
    t.equal(direct.state, 'unknown', 'opened directly, the held card is busy: the microphone is unknown');

    await agentWith(false);
    const through = await selfTest();
    t.comment(
      `through the audio server: microphone ${through.state}; ${through.failures || 'no capture failure logged'}`,
    );
    // 'fault' here is the silence QEMU's line-in records, measured: the microphone was recorded.
    t.equal(through.state, 'fault', 'through the audio server the microphone is recorded (silent under QEMU)');
    t.equal(through.failures, '', 'no failed microphone capture in the agent log');
    const state = through.state;
    await box.sh('systemctl stop diemcau-test-record || true');

    const line = `audio: power-on → online ${onlineS} s (${box.accel.toUpperCase()}); microphone check while the card is held: ${state}`;
    t.teardown(() => void process.stdout.write(`\n# image audio\n#   ${line}\n`));
  });
}
