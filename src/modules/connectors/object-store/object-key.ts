import type { SubjectIdentifiers } from '../port.js';

/**
 * An object key from a value found in a SQL column: a bare key (`media/abc.jpg`, a leading `/` dropped), or a
 * URL naming this bucket/container — `s3://bucket/key`, virtual-hosted `https://bucket.s3…/key`, path-style
 * `https://host/bucket/key` or an Azure blob URL `https://account.blob…/container/name` (also the emulator's
 * `http://host/account/container/name`). A URL naming another bucket gives undefined: it is not ours to erase.
 */
export function objectKeyOf(value: string, bucket: string): string | undefined {
  const v = value.trim();
  if (!v) return undefined;
  if (!/^(s3|https?):\/\//i.test(v)) return v.replace(/^\/+/, '') || undefined;
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return undefined;
  }
  let path: string;
  try {
    path = decodeURIComponent(url.pathname).replace(/^\/+/, '');
  } catch {
    return undefined;
  }
  if (url.protocol === 's3:') return url.hostname === bucket ? path || undefined : undefined;
  if (url.hostname.startsWith(`${bucket}.`)) return path || undefined;
  const parts = path.split('/');
  const at = parts.indexOf(bucket);
  if (at !== 0 && at !== 1) return undefined;
  return parts.slice(at + 1).join('/') || undefined;
}

/** The identifiers without empty values: an empty value would turn `users/{digits}` into a wider prefix. */
export function nonEmptyIds(ids: SubjectIdentifiers): SubjectIdentifiers {
  const keep = (xs: string[]) => [...new Set(xs.filter((x) => x.trim() !== ''))];
  return { e164: keep(ids.e164), digits: keep(ids.digits), bsuid: keep(ids.bsuid) };
}

/**
 * A prefix template that ends with an identifier (`users/{digits}`) also matches every longer identifier that
 * starts with the same characters (`users/155512345` is a prefix of `users/1555123456/…`).
 */
export function prefixTemplateWarning(template: string): string | undefined {
  return /\{(e164|digits|bsuid)\}$/.test(template)
    ? `prefix ${template} ends with an identifier: it also matches longer identifiers; end it with a delimiter such as /`
    : undefined;
}
