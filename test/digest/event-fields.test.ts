// eventFields lists its values in GLOBAL_DIMS / PROJECT_DIMS order (no key names: they cross threads);
// each one read back by its name here, so that a value in the wrong place fails by name.
import { expect, test } from 'vitest';
import { eventFields, GLOBAL_DIMS, PROJECT_DIMS } from '../../src/digest/event-fields.js';
import { normalizeEvent } from '../../src/protocol/event.js';

test('every dimension value sits at its name', () => {
  const ev = normalizeEvent({
    event_id: 'a'.repeat(32), platform: 'python', level: 'warning', environment: 'prod', release: 'web@1.2', server_name: 'host-1', transaction: '/checkout',
    user: { id: 'u-1' }, tags: { region: 'eu', empty: '' },
    exception: { values: [{ type: 'ValueError', value: 'bad input', mechanism: { type: 'generic', handled: false } }] },
    contexts: {
      os: { name: 'Linux', version: '6.1' }, device: { manufacturer: 'Acme', brand: 'Rocket', model: 'R1', chipset: 'Z80', arch: 'arm64', connection_type: 'wifi', orientation: 'portrait' },
      culture: { locale: 'de-DE', timezone: 'Europe/Berlin' }, runtime: { name: 'CPython', version: '3.12' }, browser: { name: 'Firefox', version: '130' },
      app: { app_name: 'Shop', app_version: '2.0', app_build: '42' },
    },
    sdk: { name: 'sentry.python', version: '2.0.0' },
  }, { receivedAt: new Date() });
  const f = eventFields(ev, null);
  const g = Object.fromEntries(GLOBAL_DIMS.map((k, i) => [k, f.global[i]]));
  const p = Object.fromEntries(PROJECT_DIMS.map((k, i) => [k, f.project[i]]));
  expect(f.global).toHaveLength(GLOBAL_DIMS.length);
  expect(f.project).toHaveLength(PROJECT_DIMS.length);
  expect(g).toEqual({
    platform: 'python', level: 'warning', type: 'error', os_name: 'Linux', os_version: '6.1', device_manufacturer: 'Acme', device_brand: 'Rocket',
    device_model: 'R1', device_chipset: 'Z80', device_specs: 'arm64', locale: 'de-DE', timezone: 'Europe/Berlin', connection_type: 'wifi',
    orientation: 'portrait', runtime: 'CPython 3.12', browser: 'Firefox 130', sdk_name: 'sentry.python', sdk_version: '2.0.0',
  });
  expect(p).toEqual({
    environment: 'prod', release: 'web@1.2', user: expect.stringContaining('u-1'), transaction: '/checkout', server_name: 'host-1',
    exception_type: 'ValueError', app_name: 'Shop', app_version: '2.0', app_build: '42',
  });
  // key, value pairs; the empty value left out
  expect(f.tags.length % 2).toBe(0);
  const tags = Object.fromEntries(Array.from({ length: f.tags.length / 2 }, (_, i) => [f.tags[2 * i], f.tags[2 * i + 1]]));
  expect(tags).toMatchObject({ region: 'eu' });
  expect(tags).not.toHaveProperty('empty');
  expect(f).toMatchObject({ handled: false, exceptionValue: 'bad input' });
});
