// Fuzzing of the fleet's HTTP body schemas: filled in once the fleet's routes
// exist (every POST route's body through inject(), expecting 4xx, never 5xx).
import type { FuzzOutcome } from './codecs.js';

export async function fuzzHttpBodies(_runs: number, _progress: (line: string) => void): Promise<FuzzOutcome[]> {
  return [];
}
