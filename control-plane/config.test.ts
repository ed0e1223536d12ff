import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { throwsA } from '../test/support/assert';
import { ConfigError, DEFAULT_PORT, parseConfig } from './config';

const test = suite('config');

test('defaults: embedded mode on port 8080 with data under ./.tollgate', () => {
  const c = parseConfig({});
  assert.is(c.port, DEFAULT_PORT);
  assert.is(c.databaseUrl, undefined);
  assert.is(c.natsServers, undefined);
  assert.is(c.redisUrls, undefined);
  assert.match(c.dataDir, /\.tollgate$/);
  assert.match(c.keyDir, /\.tollgate\/keys$/);
  assert.is(c.demo, true);
  assert.is(c.oracleAudience, 'tollgate-oracle');
  assert.is(c.passivateAfterMs, 300_000);
  assert.is(c.subjectPrefix, 'tg');
  assert.is(c.dbPoolSize, 4);
});

test('real services: URLs parsed, REDIS_URLS split into independent nodes', () => {
  const c = parseConfig({
    PORT: '9090',
    DATABASE_URL: 'postgres://u:p@db:5432/tollgate',
    NATS_URL: 'nats://a:4222,nats://b:4222',
    REDIS_URLS: 'redis://r1:6379, redis://r2:6379,redis://r3:6379',
    TOLLGATE_DEMO: '0',
  });
  assert.is(c.port, 9090);
  assert.equal(c.natsServers, ['nats://a:4222', 'nats://b:4222']);
  assert.equal(c.redisUrls, ['redis://r1:6379', 'redis://r2:6379', 'redis://r3:6379']);
  assert.is(c.demo, false);
  assert.is(parseConfig({ DATABASE_URL: 'postgres://u@db:5432/t', TOLLGATE_DB_POOL_SIZE: '12' }).dbPoolSize, 12);
});

test('the demo: on by default on embedded defaults, off with real services unless asked; speed', () => {
  assert.is(parseConfig({}).demoSpeed, 2880);
  assert.is(parseConfig({ DATABASE_URL: 'postgres://u@db:5432/t' }).demo, false);
  assert.is(parseConfig({ NATS_URL: 'nats://n:4222' }).demo, false);
  assert.is(parseConfig({ DATABASE_URL: 'postgres://u@db:5432/t', TOLLGATE_DEMO: '1' }).demo, true);
  assert.is(parseConfig({ TOLLGATE_DEMO: '0' }).demo, false);
  assert.is(parseConfig({ TOLLGATE_DEMO_SPEED: '86400' }).demoSpeed, 86_400);
  assert.throws(() => parseConfig({ TOLLGATE_DEMO_SPEED: '0.5' }), /TOLLGATE_DEMO_SPEED/);
  assert.throws(() => parseConfig({ TOLLGATE_DEMO_SPEED: 'fast' }), /TOLLGATE_DEMO_SPEED/);
});

test('an empty variable counts as unset', () => {
  assert.is(parseConfig({ DATABASE_URL: '' }).databaseUrl, undefined);
});

test('each bad value names its variable', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: 'http' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ DATABASE_URL: 'mysql://db/x' }, /DATABASE_URL: must be a URL with scheme postgres/],
    [{ NATS_URL: 'localhost:4222' }, /NATS_URL/],
    [{ REDIS_URLS: 'redis://a:1,http://b' }, /REDIS_URLS/],
    [{ TOLLGATE_DEMO: 'yes' }, /TOLLGATE_DEMO/],
    [{ TOLLGATE_BOOTSTRAP_ADMIN_TOKEN: 'short' }, /TOLLGATE_BOOTSTRAP_ADMIN_TOKEN: must be at least 16/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ TOLLGATE_PASSIVATE_AFTER_MS: '10' }, /TOLLGATE_PASSIVATE_AFTER_MS: must be at least 1000/],
    [{ TOLLGATE_SUBJECT_PREFIX: 'a.b' }, /TOLLGATE_SUBJECT_PREFIX/],
    [{ TOLLGATE_DB_POOL_SIZE: '1' }, /TOLLGATE_DB_POOL_SIZE: must be at least 2/],
    [{ TOLLGATE_DB_POOL_SIZE: 'many' }, /TOLLGATE_DB_POOL_SIZE/],
    [{ TOLLGATE_DB_POOL_SIZE: '3.5' }, /TOLLGATE_DB_POOL_SIZE/],
  ];
  for (const [env, re] of cases) throwsA(() => parseConfig(env), ConfigError, re);
});

test.run();
