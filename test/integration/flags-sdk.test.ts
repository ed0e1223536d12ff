// The OpenFeature API is a process-wide singleton: each variant runs in its own test process
// (the Postgres + NATS one is flags-sdk-services.test.ts).
import { sdkSuite } from '../support/flags-sdk-suite';

sdkSuite('embedded', async () => ({ env: {}, cleanup: async () => undefined }), false).run();
