/**
 * The LDAP password-policy control (draft-behera-ldap-password-policy, as OpenLDAP's ppolicy
 * overlay speaks it) on ldapts's control API.
 *
 * Sent with a bind or a password-modify request, it asks the server to say why a password was
 * refused or what is about to happen to it: the response control carries an optional warning
 * (seconds before expiry, or grace binds left) and an optional error (expired, locked, too short,
 * in history...), beside the operation's LDAP result code.
 *
 * Why one control object per request, and read after the call: ldapts's result-code errors keep
 * only the code and the server's text, so a failed bind or extended operation loses its response
 * controls. But ldapts parses a response control whose OID it does not know into the request
 * control of the same OID (ControlParser falls back to the request's controls), and it does so
 * while parsing the response, before it decides to throw. So the request control itself receives
 * the answer, and survives the failure: send a fresh `PasswordPolicyControl`, and read its
 * `response` whether the call resolved or threw.
 */
import { type BerReader, Control } from 'ldapts';

export const passwordPolicyControlOid = '1.3.6.1.4.1.42.2.27.8.5.1';

/** The error values of the response control, by their number on the wire. */
export const passwordPolicyErrors = [
  'passwordExpired',
  'accountLocked',
  'changeAfterReset',
  'passwordModNotAllowed',
  'mustSupplyOldPassword',
  'insufficientPasswordQuality',
  'passwordTooShort',
  'passwordTooYoung',
  'passwordInHistory',
  'passwordTooLong',
] as const;

export type PasswordPolicyError = (typeof passwordPolicyErrors)[number];

/** What the server said in its password-policy response control. */
export interface PasswordPolicyResponse {
  /** Seconds until the password expires, when the server warns of it. */
  readonly timeBeforeExpiration?: number;
  /** Binds still allowed with the expired password. */
  readonly graceAuthNsRemaining?: number;
  readonly error?: PasswordPolicyError;
  /** The error number when it is one this module does not name (a newer server's). */
  readonly unknownErrorNumber?: number;
}

interface Tlv {
  readonly tag: number;
  readonly value: Buffer;
  readonly next: number;
}

/** Reads one BER tag-length-value at `offset` (single-byte tags, which is all this value uses). */
function readTlv(buffer: Buffer, offset: number): Tlv {
  const tag = buffer[offset];
  let lengthByte = buffer[offset + 1];
  if (tag === undefined || lengthByte === undefined) throw new Error('truncated password-policy control');
  let cursor = offset + 2;
  let length = lengthByte;
  if (lengthByte & 0x80) {
    const count = lengthByte & 0x7f;
    if (count === 0 || count > 4) throw new Error('unsupported BER length in password-policy control');
    length = 0;
    for (let i = 0; i < count; i += 1) {
      lengthByte = buffer[cursor];
      if (lengthByte === undefined) throw new Error('truncated password-policy control');
      length = length * 256 + lengthByte;
      cursor += 1;
    }
  }
  const end = cursor + length;
  if (end > buffer.length) throw new Error('truncated password-policy control');
  return { tag, value: buffer.subarray(cursor, end), next: end };
}

/** A non-negative BER integer's value (the draft bounds every integer here to 0..maxInt). */
function readUnsigned(value: Buffer): number {
  let result = 0;
  for (const byte of value) result = result * 256 + byte;
  return result;
}

/**
 * Decodes the response control's value:
 * `SEQUENCE { warning [0] CHOICE { timeBeforeExpiration [0] INTEGER, graceAuthNsRemaining [1]
 * INTEGER } OPTIONAL, error [1] ENUMERATED OPTIONAL }`. An empty value means "no warning, no
 * error". Throws on a value that is not this shape.
 */
export function decodePasswordPolicyResponse(value: Buffer): PasswordPolicyResponse {
  if (value.length === 0) return {};
  const sequence = readTlv(value, 0);
  if (sequence.tag !== 0x30) throw new Error('password-policy control value is not a SEQUENCE');
  const result: {
    timeBeforeExpiration?: number;
    graceAuthNsRemaining?: number;
    error?: PasswordPolicyError;
    unknownErrorNumber?: number;
  } = {};
  let offset = 0;
  while (offset < sequence.value.length) {
    const element = readTlv(sequence.value, offset);
    offset = element.next;
    if (element.tag === 0xa0) {
      // The warning: a CHOICE, so its [0] tag is explicit and wraps the chosen, implicitly tagged integer.
      const choice = readTlv(element.value, 0);
      if (choice.tag === 0x80) result.timeBeforeExpiration = readUnsigned(choice.value);
      else if (choice.tag === 0x81) result.graceAuthNsRemaining = readUnsigned(choice.value);
    } else if (element.tag === 0x81) {
      const errorNumber = readUnsigned(element.value);
      const name = passwordPolicyErrors[errorNumber];
      if (name !== undefined) result.error = name;
      else if (errorNumber !== 65535) result.unknownErrorNumber = errorNumber;
    }
  }
  return result;
}

/**
 * The request control (no value), which also receives the server's response control: after the
 * operation, `response` holds what the server said, or stays undefined if it sent nothing.
 * Non-critical, so a server without the overlay still answers the operation.
 */
export class PasswordPolicyControl extends Control {
  static readonly type = passwordPolicyControlOid;

  /** The decoded response control, once the server sent one for this request. */
  response: PasswordPolicyResponse | undefined;

  /** Set when the server sent the control with a value this module could not decode. */
  parseError: string | undefined;

  constructor() {
    super(passwordPolicyControlOid, { critical: false });
  }

  protected override parseControl(reader: BerReader): void {
    try {
      this.response = decodePasswordPolicyResponse(reader.buffer);
    } catch (error) {
      this.parseError = error instanceof Error ? error.message : String(error);
      this.response = {};
    }
  }
}
