import { runLegacyAppSuite } from './legacy-app.suite';
import { modeSetup } from './mode-setup';

// shadow mode: the same suite, only the flag differs (a temp database per test).
runLegacyAppSuite('shadow', modeSetup('shadow'));
