// The SCEP client lives with the device simulator; tests and benchmarks import it from here.
export * from '../../src/apple/simulator/scep-client.ts';
