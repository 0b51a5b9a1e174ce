import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Paths that could hold a secret in anything Rekey logs. Request bodies are never logged, but a
 * mistake elsewhere must still not write a password into a log file.
 */
const redactPaths = [
  'password',
  'newPassword',
  'currentPassword',
  'refresh_token',
  'access_token',
  '*.password',
  '*.newPassword',
  '*.currentPassword',
  '*.refresh_token',
  '*.access_token',
  'req.headers.authorization',
  'req.headers.cookie',
];

/** The process logger: JSON lines on stdout (or `destination`), secrets redacted. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'rekey' },
      redact: { paths: redactPaths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
