import { IdentitySlots } from '../../src/server/identity-slots';

describe('IdentitySlots', () => {
  it('gives each identity up to max slots, and one back for each release', () => {
    const slots = new IdentitySlots(2);
    expect([slots.take('a'), slots.take('a'), slots.take('a')]).toEqual([true, true, false]);
    expect(slots.take('b')).toBe(true);
    slots.release('a');
    expect([slots.take('a'), slots.take('a')]).toEqual([true, false]);
  });
});
