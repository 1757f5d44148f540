// Where the edge may send media. Link offers and taps name an IP address and
// a port, and the worker sends RTP there: without these checks a peer could
// point the meeting's media at any host (or at every host: broadcast,
// multicast). Pure apart from resolving the host names a plan may use.
import dns from 'node:dns';
import net from 'node:net';
import { DiemcauError } from '@diemcau/shared';

export type AddressKind = 'invalid' | 'unspecified' | 'multicast' | 'broadcast' | 'loopback' | 'unicast';

/** Blocks by kind; the same addresses in every spelling (an IPv4-mapped IPv6 address counts as its IPv4 one). */
const blocks = (() => {
  const make = (v4: Array<[string, number]>, v6: Array<[string, number]>): net.BlockList => {
    const b = new net.BlockList();
    for (const [a, p] of v4) b.addSubnet(a, p, 'ipv4');
    for (const [a, p] of v6) b.addSubnet(a, p, 'ipv6');
    return b;
  };
  return {
    // 0.0.0.0/8 is "this network": the kernel sends to the local host or nowhere.
    unspecified: make([['0.0.0.0', 8]], [['::', 128]]),
    multicast: make([['224.0.0.0', 4]], [['ff00::', 8]]),
    broadcast: make([['255.255.255.255', 32]], []),
    loopback: make([['127.0.0.0', 8]], [['::1', 128]]),
  };
})();

/** An address as the kernel would use it: IPv4-mapped IPv6 (how a dual-stack socket reports IPv4 peers) as IPv4. */
export function normalizeIp(ip: string): { ip: string; family: 'ipv4' | 'ipv6' } | null {
  const bare = ip.replace(/^\[(.*)\]$/, '$1');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped && net.isIPv4(mapped[1]!)) return { ip: mapped[1]!, family: 'ipv4' };
  if (net.isIPv4(bare)) return { ip: bare, family: 'ipv4' };
  if (net.isIPv6(bare)) return { ip: bare, family: 'ipv6' };
  return null;
}

export function addressKind(ip: string): AddressKind {
  const n = normalizeIp(ip);
  if (!n) return 'invalid';
  for (const kind of ['unspecified', 'multicast', 'broadcast', 'loopback'] as const) {
    if (blocks[kind].check(n.ip, n.family)) return kind;
  }
  return 'unicast';
}

/** Kinds no plan or setting can make a destination. */
export function neverAllowed(kind: AddressKind): boolean {
  return kind === 'invalid' || kind === 'unspecified' || kind === 'multicast' || kind === 'broadcast';
}

/** A set of addresses compared in any spelling (`::1` and `0:0::1`, `::ffff:10.0.0.1` and `10.0.0.1`). */
export class AddressSet {
  private readonly list = new net.BlockList();
  private size = 0;

  add(ip: string): void {
    const n = normalizeIp(ip);
    if (!n) return;
    this.list.addAddress(n.ip, n.family);
    this.size += 1;
  }

  has(ip: string): boolean {
    const n = normalizeIp(ip);
    return n !== null && this.size > 0 && this.list.check(n.ip, n.family);
  }
}

export type Lookup = (host: string) => Promise<string[]>;

export const systemLookup: Lookup = async (host) =>
  (await dns.promises.lookup(host, { all: true })).map((a) => a.address);

/**
 * The IP addresses a plan's names stand for. IP literals stand for
 * themselves; a host name is resolved now (a name that does not resolve
 * stands for nothing, so the offer is refused).
 */
export async function resolveNamed(names: readonly string[], lookup: Lookup = systemLookup): Promise<AddressSet> {
  const set = new AddressSet();
  for (const name of names) {
    if (normalizeIp(name)) {
      set.add(name);
      continue;
    }
    try {
      for (const ip of await lookup(name)) set.add(ip);
    } catch {
      // Unresolvable: nothing added.
    }
  }
  return set;
}

/**
 * CIDR list from a setting ("127.0.0.0/8,::1/128,10.20.0.5"): where taps may
 * send. Throws with every bad entry listed.
 */
export function parseCidrList(text: string): { list: net.BlockList; entries: string[] } {
  const list = new net.BlockList();
  const entries: string[] = [];
  const bad: string[] = [];
  for (const raw of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [addr, bits] = raw.split('/');
    const n = addr ? normalizeIp(addr) : null;
    const max = n?.family === 'ipv4' ? 32 : 128;
    const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
    if (!n || !(prefix >= 0 && prefix <= max)) {
      bad.push(raw);
      continue;
    }
    list.addSubnet(n.ip, prefix, n.family);
    entries.push(`${n.ip}/${prefix}`);
  }
  if (bad.length > 0) throw new DiemcauError('APPL_ERR_CONFIG', `not an address or CIDR: ${bad.join(', ')}`);
  return { list, entries };
}

export function inCidrList(list: net.BlockList, ip: string): boolean {
  const n = normalizeIp(ip);
  return n !== null && list.check(n.ip, n.family);
}
