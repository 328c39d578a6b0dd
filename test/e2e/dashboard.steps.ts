import jsQRModule from 'jsqr';
import type { Locator, Page } from 'playwright-core';
import { expect } from 'vitest';
import { screenshot } from '../helpers/browser.js';

/**
 * Steps of the dashboard's browser tests that read what the page shows: the QR code (decoded from the pixels
 * the browser drew, by an independent decoder), the open dialog, the rows of a page, horizontal overflow.
 */

type Decoder = (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;
const jsQR: Decoder =
  (jsQRModule as unknown as { default?: Decoder }).default ?? (jsQRModule as unknown as Decoder);

/**
 * The text of the QR code drawn by the SVG at `selector`, as a phone would read it: the page's SVG drawn onto a
 * canvas at 6 px per module (through an `<img>` of the serialised SVG, a data: URL the CSP allows), its pixels
 * decoded by jsQR. (Page code is a string: the test's TypeScript has no DOM library.)
 */
export async function decodeQr(page: Page, selector: string): Promise<string | undefined> {
  const image = await page.evaluate<{ size: number; pixels: number[] }>(`(async () => {
    const el = document.querySelector(${JSON.stringify(selector)});
    const size = Number(el.getAttribute('data-modules')) * 6;
    const img = new Image(size, size);
    img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(new XMLSerializer().serializeToString(el));
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = size;
    canvas.height = size;
    const g = canvas.getContext('2d');
    g.drawImage(img, 0, 0, size, size);
    return { size, pixels: Array.from(g.getImageData(0, 0, size, size).data) };
  })()`);
  return jsQR(Uint8ClampedArray.from(image.pixels), image.size, image.size)?.data;
}

/** The open modal dialog, found by its accessible name. */
export async function dialog(page: Page, name: string | RegExp): Promise<Locator> {
  const d = page.getByRole('dialog', { name });
  await d.waitFor();
  return d;
}

/** The id attribute of the element that has focus. */
export function focusedId(page: Page): Promise<string | undefined> {
  return page.evaluate<string | undefined>(
    'document.activeElement?.id || document.activeElement?.tagName.toLowerCase()',
  );
}

/** The values of `attribute` on the table rows of the page (request ids, audit seqs). */
export function rowKeys(page: Page, attribute: string): Promise<string[]> {
  return page
    .locator(`tr[${attribute}]`)
    .evaluateAll((rows, attr) => rows.map((r) => r.getAttribute(attr) ?? ''), attribute);
}

/** Wait for the page number the pager shows. */
export async function onPage(page: Page, n: number): Promise<void> {
  await expect.poll(() => page.locator('.pager [aria-current="page"]').textContent()).toBe(`Page ${n}`);
}

export function overflow(page: Page): Promise<number> {
  return page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
}

/**
 * On the authenticator set-up screen: what the QR code says (decoded from the drawn pixels) is the URI the page
 * offers for typing in, and the key shown by hand is its secret. Returns the secret.
 */
export async function scanEnrolment(page: Page): Promise<string> {
  await page.getByRole('img', { name: /^QR code/ }).waitFor();
  const uri = await decodeQr(page, '#enrol-qr svg');
  expect(uri).toMatch(/^otpauth:\/\/totp\//);
  expect(uri).toBe(await page.locator('#enrol-qr').getAttribute('data-otpauth'));
  const secret = new URL(uri!).searchParams.get('secret')!;
  await page.getByText('Cannot scan? Enter the key by hand').click();
  expect((await page.locator('#enrol-secret').textContent())!.replace(/ /g, '')).toBe(secret);
  return secret;
}

/** On the queue filtered to 10 a page: two disjoint pages covering every match, kept across a reload. */
export async function pageThroughQueue(page: Page): Promise<void> {
  await onPage(page, 1);
  const first = await rowKeys(page, 'data-request');
  await page.getByRole('link', { name: 'Next page →' }).click();
  await onPage(page, 2);
  const second = await rowKeys(page, 'data-request');
  const total = await page.evaluate(async () => {
    const res = await fetch('/admin/api/requests?status=awaiting_verification&limit=200');
    return ((await res.json()) as { requests: unknown[] }).requests.length;
  });
  expect(second.length).toBe(total - 10);
  expect(second.filter((id) => first.includes(id))).toEqual([]);
  expect(await page.getByRole('link', { name: 'Next page →' }).count()).toBe(0);
  await screenshot(page, 'queue-page-2');
  await page.reload();
  await onPage(page, 2);
  expect(await rowKeys(page, 'data-request')).toEqual(second);
  await page.getByRole('link', { name: '← Previous page' }).click();
  await onPage(page, 1);
  expect(await rowKeys(page, 'data-request')).toEqual(first);
}

/** On the audit screen: 50 newest events, then older ones only, newest first, and back. */
export async function pageThroughAudit(page: Page): Promise<void> {
  await onPage(page, 1);
  const seqs = async () => (await rowKeys(page, 'data-seq')).map(Number);
  const newest = await seqs();
  expect(newest).toHaveLength(50);
  await page.getByRole('link', { name: 'Next page →' }).click();
  await onPage(page, 2);
  const older = await seqs();
  expect(older.length).toBeGreaterThan(0);
  expect(Math.max(...older)).toBeLessThan(Math.min(...newest));
  expect(older).toEqual([...older].sort((a, b) => b - a));
  await screenshot(page, 'audit-page-2');
  await page.getByRole('link', { name: '← Previous page' }).click();
  await onPage(page, 1);
  expect(Math.min(...(await seqs()))).toBeGreaterThan(Math.max(...older));
}
