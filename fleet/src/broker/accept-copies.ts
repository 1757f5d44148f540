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
  /** `node`: the binary the helper runs on, the fleet's own unless set. */
  opts: { backlog: number; timeoutMs?: number; node?: string },
): Promise<Server[]> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  // The listening handle: internal, but it is what subprocess.send() carries as a raw handle.
  const handle = (server as unknown as { _handle?: object | null })._handle;
  if (count <= 0 || !handle) return [];
  // Without NODE_OPTIONS: a loader or an inspector meant for the fleet has no business in the helper.
  const child = spawn(opts.node ?? process.execPath, ['-e', ECHO], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const close = (h: object): void => (h as { close?: () => void }).close?.();
  const received: object[] = [];
  let settled = false;
  let allIn = (): void => undefined;
  // A copy that comes after a failure is closed: no descriptor of the socket may outlive the server.
  child.on('message', (_msg, copy?: object) => {
    if (!copy) return;
    if (settled) return close(copy);
    received.push(copy);
    if (received.length === count) allIn();
  });
  // Kept for the child's whole life: a failed spawn also fails each send, each with its own 'error'.
  child.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no copies within ${timeoutMs} ms`)), timeoutMs);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        reject(err);
      };
      allIn = () => {
        clearTimeout(timer);
        resolve();
      };
      child.once('error', fail);
      child.once('exit', (code) =>
        fail(new Error(`the helper exited (${code}) after ${received.length} of ${count} copies`)),
      );
      child.once('spawn', () => {
        for (let i = 0; i < count; i++)
          child.send({ last: i === count - 1 }, handle as never, (err) => (err ? fail(err) : undefined));
      });
    });
  } catch (err) {
    received.forEach(close);
    throw err;
  } finally {
    settled = true;
    if (child.exitCode === null && child.signalCode === null) child.kill();
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
