import { z } from 'zod';
import { utf8Length } from './encoding.ts';
import { ErrorCode, HangarError } from './errors.ts';
import { LIMITS } from './limits.ts';
import { keySchema } from './names.ts';

/**
 * Params (DESIGN §1 "Experiments and runs"): a version's named inputs (`lr`, `epochs`), MLflow's
 * params. A param is a string of at most `LIMITS.paramValueBytes` UTF-8 bytes, set once per
 * version and key: setting the same value again changes nothing, setting another value is
 * refused with `param-changed` (409). Params hang off versions only (an experiment's runs, or
 * any model's versions), never off models.
 */

/** A param key: the same rule as metadata and metric keys. */
export const paramKeySchema = keySchema;

/** A param value: a string of at most `LIMITS.paramValueBytes` bytes in UTF-8, no NUL. */
export const paramValueSchema = z
  .string()
  .refine((s) => !s.includes('\0'), { message: 'must not contain NUL' })
  .superRefine((s, ctx) => {
    if (utf8Length(s) > LIMITS.paramValueBytes) {
      ctx.addIssue({ code: 'custom', params: { tooLarge: true }, message: `must be at most ${LIMITS.paramValueBytes} bytes in UTF-8` });
    }
  });

/** Body of `PUT …/versions/{number}/params/{key}`. */
export const setParamSchema = z.object({ value: paramValueSchema });
export type SetParam = z.infer<typeof setParamSchema>;

/** A version's params as the API returns them: key → value. */
export type Params = Record<string, string>;

const DECIMAL = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

/**
 * A param's value as a number, for filters: the value parsed as a decimal number when the whole
 * string (no surrounding space) is one (`0.01`, `-3`, `1e-4`, `+2.`), else `undefined`
 * (`abc`, `NaN`, `Infinity`, `0x10`, ` 1`, `''`). The server stores the same number beside the
 * value, so `params.lr < 0.01` selects the same versions on both sides.
 */
export function paramNumber(value: string): number | undefined {
  if (!DECIMAL.test(value)) return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/** The error of a param set again with another value. */
export function paramChanged(key: string, stored: string, given: string): HangarError {
  return new HangarError(
    ErrorCode.ParamChanged,
    `Param "${key}" is already ${JSON.stringify(stored.length > 100 ? `${stored.slice(0, 100)}…` : stored)}; params are set once, so log the new value under another key.`,
    { key, value: stored, given },
  );
}
