import { CallbackRequests, MAX_HEARTBEAT_FAILURES } from '../../src/server/callback-requests';
import { WebhookReceiver } from '../testkit/webhook-receiver';

/**
 * The requests Apollo's subscription callback plugin sends, driven one by one as the plugin would send them,
 * against a real receiver: whenever the plugin gives a subscription up, so does CallbackRequests, and the
 * identity's slot is free again.
 */
describe('CallbackRequests follows the subscriptions Apollo ends', () => {
  let receiver: WebhookReceiver;
  let url: string;
  let requests: CallbackRequests;
  beforeEach(async () => {
    receiver = new WebhookReceiver();
    url = `${await receiver.start()}/sub`;
    requests = new CallbackRequests({ allowPrivate: true }, 1);
    expect(requests.accept(url, 'sub-1', 1000, 'alice')).toBe('accepted');
    await send('check');
  });
  afterEach(() => receiver.stop());

  const send = (action: string, status = 204) => {
    receiver.answer = () => status;
    return requests.fetcher(url, { method: 'POST', body: JSON.stringify({ action, id: 'sub-1' }) });
  };
  const slotIsFree = () => {
    const acceptance = requests.accept(`${url}-next`, 'sub-2', 1000, 'alice');
    return acceptance === 'accepted';
  };

  it('counts heartbeat failures from the last heartbeat that succeeded, as Apollo does, not from an event', async () => {
    for (let i = 0; i < MAX_HEARTBEAT_FAILURES - 1; i += 1) await send('check', 500);
    await send('next', 204);
    expect(slotIsFree()).toBe(false);
    await send('check', 500);
    expect(slotIsFree()).toBe(true);
    await expect(send('check')).rejects.toThrow('the subscription has ended');
  });

  it('ends a subscription whose event is answered with a redirect (Apollo gives it up at once)', async () => {
    await send('next', 302);
    expect(slotIsFree()).toBe(true);
  });

  it('keeps one whose heartbeat is answered 401, which Apollo counts as a failure, until the fifth', async () => {
    for (let i = 0; i < MAX_HEARTBEAT_FAILURES - 1; i += 1) await send('check', 401);
    expect(slotIsFree()).toBe(false);
    await send('check', 401);
    expect(slotIsFree()).toBe(true);
  });
});
