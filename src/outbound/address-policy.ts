import ipaddr from 'ipaddr.js';

const IPV4_COMPATIBLE_DOTTED = /^::\d+\.\d+\.\d+\.\d+$/;

/**
 * Whether an IP address is one that outbound requests (webhooks, subscription callbacks) must not reach in
 * production: anything but global unicast, as ipaddr.js classifies it (loopback, private, link-local,
 * carrier-grade NAT, documentation and other reserved ranges, multicast, NAT64 `64:ff9b::/96` and
 * `64:ff9b:1::/48`, 6to4 `2002::/16`, Teredo...). Unparseable text counts as non-public.
 */
export function isNonPublicAddress(address: string): boolean {
  // IPv4-compatible (::a.b.c.d, deprecated) may route to IPv4 hosts; ipaddr.js reads the dotted form as mapped.
  if (IPV4_COMPATIBLE_DOTTED.test(address) || !ipaddr.isValid(address)) return true;
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv4') return parsed.range() !== 'unicast';
  const ipv6 = parsed as ipaddr.IPv6;
  // IPv4-mapped (::ffff:a.b.c.d) is the IPv4 address in disguise.
  if (ipv6.isIPv4MappedAddress()) return isNonPublicAddress(ipv6.toIPv4Address().toString());
  // The same in hex (::a00:1), which ipaddr.js calls unicast.
  if (ipv6.parts.slice(0, 6).every((part) => part === 0)) return true;
  return ipv6.range() !== 'unicast';
}
