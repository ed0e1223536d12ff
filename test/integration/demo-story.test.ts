import { storySuite } from './demo-story';

// The demo as `npm start` runs it (embedded defaults): every scripted event, to the end.
storySuite('embedded', async () => ({ env: {}, cleanup: async () => undefined }), true).run();
