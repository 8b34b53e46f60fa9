import { isNonPublicAddress } from '../../src/outbound/address-policy';

describe('outbound address policy (webhooks and subscription callbacks in production)', () => {
  it.each([
    ['127.0.0.1', true],
    ['10.1.2.3', true],
    ['172.16.0.1', true],
    ['172.32.0.1', false],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['255.255.255.255', true],
    ['224.0.0.1', true],
    // documentation and benchmarking ranges
    ['192.0.2.1', true],
    ['198.51.100.7', true],
    ['203.0.113.9', true],
    ['198.18.0.1', true],
    ['::1', true],
    ['::', true],
    ['fd00::1', true],
    ['fe80::1', true],
    ['fec0::1', true],
    ['ff02::1', true],
    ['2001:db8::1', true],
    // IPv4 in IPv6 clothing: mapped, compatible (dotted and hex), NAT64 (well-known and local-use), 6to4, Teredo
    ['::ffff:127.0.0.1', true],
    ['::ffff:8.8.8.8', false],
    ['::127.0.0.1', true],
    ['::7f00:1', true],
    ['::a00:1', true],
    ['64:ff9b::7f00:1', true],
    ['64:ff9b::808:808', true],
    ['64:ff9b:1::1', true],
    ['2002:7f00:1::1', true],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', true],
    ['8.8.8.8', false],
    ['2606:4700:4700::1111', false],
    ['not-an-ip', true],
    ['', true],
  ])('classify %s as non-public: %s', (address, nonPublic) => {
    expect(isNonPublicAddress(address)).toBe(nonPublic);
  });
});
