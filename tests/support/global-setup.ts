import { buildIfStale } from './build';

/** Jest's global setup: brings dist/ up to date once, before any test file (and its children) runs. */
export default function globalSetup(): void {
  buildIfStale();
}
