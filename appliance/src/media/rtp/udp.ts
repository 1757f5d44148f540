import dgram from 'node:dgram';

/** A UDP socket on 127.0.0.1 at a port the kernel picks, for the relays between the capture and the edge. */
export async function bindLocal(): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  return socket;
}
