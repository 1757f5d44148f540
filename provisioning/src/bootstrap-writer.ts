// Writes what a commune clerk carries to the box: a bootstrap file for the
// USB stick, and the same content as a QR code (terminal and PNG) that the
// box's camera or an installer's phone can read.
import fs from 'node:fs/promises';
import path from 'node:path';
import QRCode from 'qrcode';
import { BOOTSTRAP_FILE_NAME, bootstrapCodec, writeFileAtomic, type Bootstrap } from '@diemcau/shared';

export interface WrittenBootstrap {
  file: string;
  png: string;
  terminalQr: string;
}

export async function writeBootstrap(dir: string, bootstrap: Bootstrap): Promise<WrittenBootstrap> {
  const checked = bootstrapCodec.check(bootstrap);
  if (!checked.ok) throw checked.error;
  const text = `${JSON.stringify(bootstrap, null, 2)}\n`;
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, BOOTSTRAP_FILE_NAME);
  // Write then rename, so a stick pulled out mid-write never holds half a file.
  await writeFileAtomic(file, text, { mode: 0o600, fsync: true });
  const compact = JSON.stringify(bootstrap);
  const png = path.join(dir, `${bootstrap.siteId ?? 'bootstrap'}-qr.png`);
  await QRCode.toFile(png, compact, { errorCorrectionLevel: 'M', margin: 2, width: 480 });
  const terminalQr = await QRCode.toString(compact, { type: 'terminal', small: true, errorCorrectionLevel: 'M' });
  return { file, png, terminalQr };
}
