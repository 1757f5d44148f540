import { pino, type Logger } from 'pino';

/** The fleet's root logger: JSON lines, one child per module (`log.child({ module })`). */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'fleet' } });
}
