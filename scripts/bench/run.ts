// `npm run bench -- <name> [options]`: runs one benchmark by name. Benchmarks print their
// results and whether their targets are met; they always exit 0 when they ran (a slow machine is
// not a failure), 2 on a usage error.

type Bench = { main(args: string[]): Promise<void>; usage: string };

const BENCHES: Record<string, () => Promise<Bench>> = {
  scep: () => import('./scep.ts'),
  checkin: () => import('./checkin.ts'),
  enqueue: () => import('./enqueue.ts'),
  push: () => import('./push.ts'),
  startup: () => import('./startup.ts'),
  console: () => import('./console.ts'),
  'android-sync': () => import('./android-sync.ts'),
  policy: () => import('./policy.ts'),
};

const [name, ...args] = process.argv.slice(2);

function usage(): string {
  return `usage: npm run bench -- <name> [options]\nbenchmarks: ${Object.keys(BENCHES).join(', ')}\n`;
}

if (!name || name === '-h' || name === '--help') {
  process.stdout.write(usage());
  process.exit(name ? 0 : 2);
}
const load = BENCHES[name];
if (!load) {
  process.stderr.write(`unknown benchmark "${name}"\n${usage()}`);
  process.exit(2);
}
const bench = await load();
if (args.includes('-h') || args.includes('--help')) {
  process.stdout.write(bench.usage);
  process.exit(0);
}
try {
  await bench.main(args);
} catch (e) {
  process.stderr.write(`bench ${name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
}
