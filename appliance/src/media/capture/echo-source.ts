// Which microphone the room sends: the box's echo-cancelled source when it has
// one, the raw ALSA device otherwise. The box's audio server (PipeWire, with
// the echo-cancel module the image configures in
// /etc/pipewire/pipewire.conf.d/60-diemcau-echo-cancel.conf) plays the TV's
// sound through the WebRTC canceller and offers the microphone without it; the
// edge's ffmpeg reads that source through PipeWire's ALSA plugin, so the rest
// of the capture (levels, Opus, RTP) stays as it is. A box without the server
// or without the source still sends its room, and says in the log why the TV
// will be heard back as echo.
import { execFile } from 'node:child_process';
import { pipewireNodes, pipewirePcm as alsaPipewirePcm } from '../../devices/real/audio-server.js';

export interface EchoCancelSetting {
  /** The PipeWire node the canceller's output goes out on. */
  source: string;
  /** The audio server's socket (absolute path). */
  remote: string;
  /** The PipeWire tool that lists the server's nodes. */
  pwDumpBin: string;
}

export interface MicrophoneChoice {
  /** The ALSA device ffmpeg opens. */
  device: string;
  echoCancelled: boolean;
  /** Why, in words, for the log. */
  reason: string;
}

/** The names of the nodes in a `pw-dump` (JSON); anything else yields none. */
export const pipewireNodeNames = (dump: string): string[] => pipewireNodes(dump).map((n) => n.name);

/** PipeWire's ALSA plugin (pipewire-alsa) opening one node of one server. */
export const pipewirePcm = (s: Pick<EchoCancelSetting, 'remote' | 'source'>): string =>
  alsaPipewirePcm(s.remote, s.source);

/** The decision, given what the server listed (null: it could not be asked, with why). */
export function chooseMicrophone(
  rawDevice: string,
  setting: EchoCancelSetting | null,
  listed: { nodes: string[] } | { error: string },
): MicrophoneChoice {
  if (!setting) return { device: rawDevice, echoCancelled: false, reason: 'echo cancellation is off' };
  if ('error' in listed)
    return {
      device: rawDevice,
      echoCancelled: false,
      reason: `no audio server at ${setting.remote}: ${listed.error}`,
    };
  if (!listed.nodes.includes(setting.source))
    return {
      device: rawDevice,
      echoCancelled: false,
      reason: `the audio server at ${setting.remote} has no node ${setting.source} (the echo-cancel module is not loaded)`,
    };
  return { device: pipewirePcm(setting), echoCancelled: true, reason: `${setting.source} on ${setting.remote}` };
}

const PROBE_TIMEOUT_MS = 3000;

/** Asks the server for its nodes; never throws (a missing tool or server is a reason). */
export function listPipewireNodes(setting: EchoCancelSetting): Promise<{ nodes: string[] } | { error: string }> {
  return new Promise((resolve) => {
    execFile(
      setting.pwDumpBin,
      ['-N', '-r', setting.remote],
      { timeout: PROBE_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          const e = err as NodeJS.ErrnoException & { killed?: boolean };
          const why =
            e.code === 'ENOENT'
              ? `${setting.pwDumpBin} is not installed`
              : e.killed
                ? `${setting.pwDumpBin} did not answer within ${PROBE_TIMEOUT_MS} ms`
                : (stderr.trim().split('\n').at(-1) ?? e.message);
          resolve({ error: why });
          return;
        }
        resolve({ nodes: pipewireNodeNames(stdout) });
      },
    );
  });
}

/** The microphone for a real room: asks the server when echo cancellation is on. */
export async function findMicrophone(rawDevice: string, setting: EchoCancelSetting | null): Promise<MicrophoneChoice> {
  return chooseMicrophone(rawDevice, setting, setting ? await listPipewireNodes(setting) : { nodes: [] });
}
