// The OpenFeature provider against two nodes on Postgres + NATS (its own process: the OpenFeature API is a singleton).
import { sdkSuite } from '../support/flags-sdk-suite';
import { realServicesEnv, requireNats, requirePostgres } from '../support/services';

if ((await requirePostgres()) && (await requireNats())) sdkSuite('two nodes on Postgres + NATS', () => realServicesEnv('flagsdk'), true).run();
