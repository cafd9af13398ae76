import fs from 'node:fs';
import path from 'node:path';
import { buildIsStale, ROOT } from './build';

function testSources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return testSources(full);
    return /\.(ts|js)$/.test(entry.name) ? [full] : [];
  });
}

describe('the build the tests run', () => {
  // tsc rewrites dist/ file by file: a test file that builds while another one's CLI process loads
  // a module reads it half written (seen once as an empty `show`). Only the global setup builds.
  it('is made by jest\'s global setup alone: no test file runs tsc into dist/', () => {
    const own = path.join(ROOT, 'tests/support/build.ts');
    const building = testSources(path.join(ROOT, 'tests'))
      .filter((file) => file !== own && file !== __filename)
      .filter((file) => /tsconfig\.build\.json/.test(fs.readFileSync(file, 'utf8')))
      .map((file) => path.relative(ROOT, file));
    expect(building).toEqual([]);
  });

  it('is up to date with src/ when the tests run', () => {
    expect(buildIsStale()).toBe(false);
  });
});
