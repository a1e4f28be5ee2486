#!/usr/bin/env node
// The appliance runs its TypeScript sources through tsx's loader, so `npm ci` is the whole
// install: no build step stands between a clone and a running server.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
