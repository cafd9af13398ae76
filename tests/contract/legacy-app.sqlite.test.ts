import { runLegacyAppSuite } from './legacy-app.suite';
import { modeSetup } from './mode-setup';

// sqlite mode (cutover): the same suite, only the flag differs (a temp database per test).
runLegacyAppSuite('sqlite', modeSetup('sqlite', { TASKBRIDGE_POLL_INTERVAL: '20ms' }));
