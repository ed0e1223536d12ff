import { realServicesEnv, requireNats, requirePostgres } from '../support/services';
import { storySuite } from './demo-story';

// The demo on the real services (TOLLGATE_DEMO=1 with DATABASE_URL and NATS_URL): the first days of the story.
if ((await requirePostgres()) && (await requireNats())) storySuite('Postgres + NATS', () => realServicesEnv('demostory', { TOLLGATE_NODE_ID: 'demo-story-node' }), false).run();
