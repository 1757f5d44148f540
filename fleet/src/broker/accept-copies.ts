import { spawn } from 'node:child_process';
import { Server } from 'node:net';

/**
 * Copies of a listening socket, each its own handle on the event loop, so that
 * one turn of the loop accepts up to `count + 1` connections instead of one.
 *
 * Since libuv 1.45 (Node 20) a listening handle accepts a single connection
 * per turn of the event loop. In a reconnect storm a turn of the fleet's loop
 * serves hundreds of sockets and lasts milliseconds, so the broker accepted
 * 200–600 connections a second while 10,000 boxes knocked: the kernel's accept
 * queue stayed full for 15 s, the boxes' SYNs were dropped and sent again 1,
 * 3, 7 and 15 s later, and a box that got in at 15 s gave up on its CONNACK
 * before it came, after the fleet had done the login's work.
 *
 * Node has no dup(), so a short-lived child process does it: a handle sent
 * over IPC arrives as a new descriptor of the same socket, and the child sends
 * each one back. The child is plain `node -e` and never accepts (it gets raw
 * handles, not servers). Each copy hands its connections to `server`, as if
 * the server had accepted them.
 *
 * `backlog` must be the server's own: a copy's listen() sets the socket's
 * (Node's default, 511, would shrink a deeper queue).
 *
 * Fails (the caller goes on with the one listener) when the child cannot be
 * started or does not answer within `timeoutMs`.
 */
export async function addAcceptCopies(
  server: Server,
  count: number,
  opts: { backlog: number; timeoutMs?: number },
): Promise<Server[]> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  // The listening handle: internal, but it is what subprocess.send() carries as a raw handle.
  const handle = (server as unknown as { _handle?: object | null })._handle;
  if (count <= 0 || !handle) return [];
  const child = spawn(process.execPath, ['-e', ECHO], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const received: object[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no copies within ${timeoutMs} ms`)), timeoutMs);
      child.on('message', (_msg, copy) => {
        if (copy) received.push(copy);
        if (received.length === count) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the helper exited (${code}) after ${received.length} of ${count} copies`));
      });
      for (let i = 0; i < count; i++) child.send({ last: i === count - 1 }, handle as never);
    });
  } catch (err) {
    for (const h of received) (h as { close?: () => void }).close?.();
    throw err;
  } finally {
    child.removeAllListeners();
    if (child.exitCode === null) child.kill();
  }
  const copies: Server[] = [];
  for (const h of received) {
    const copy = new Server();
    copy.on('connection', (socket) => server.emit('connection', socket));
    copy.on('error', (err) => server.emit('error', err));
    copy.listen(h as never, opts.backlog);
    copies.push(copy);
  }
  return copies;
}

/** The child: sends every handle it gets back, then drops its own descriptor. */
const ECHO = `process.on('message', (m, h) => process.send(m, h, () => { h.close(); if (m.last) process.disconnect(); }));`;
