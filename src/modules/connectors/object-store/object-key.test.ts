import { describe, expect, it } from 'vitest';
import { nonEmptyIds, objectKeyOf, prefixTemplateWarning } from './object-key.js';

describe('objectKeyOf', () => {
  it.each([
    ['media/a.jpg', 'media/a.jpg'],
    ['  /media/a.jpg ', 'media/a.jpg'],
    ['s3://bucket/media/a%20b.jpg', 'media/a b.jpg'],
    ['https://bucket.s3.eu-west-1.amazonaws.com/media/a.jpg', 'media/a.jpg'],
    ['https://s3.eu-west-1.amazonaws.com/bucket/media/a.jpg', 'media/a.jpg'],
    ['https://acct.blob.core.windows.net/bucket/media/a.jpg', 'media/a.jpg'],
    ['http://127.0.0.1:10000/devstoreaccount1/bucket/media/a.jpg', 'media/a.jpg'],
  ])('%s is the key %s', (value, key) => {
    expect(objectKeyOf(value, 'bucket')).toBe(key);
  });

  it.each([
    '',
    '   ',
    's3://other/media/a.jpg',
    'https://other.s3.amazonaws.com/media/a.jpg',
    'https://acct.blob.core.windows.net/other/media/a.jpg',
    'https://host/x/y/bucket/media/a.jpg',
    's3://bucket/',
  ])('%j names no object of this bucket', (value) => {
    expect(objectKeyOf(value, 'bucket')).toBeUndefined();
  });
});

describe('identifiers and prefixes', () => {
  it('drops empty identifier values so a template cannot widen to its literal part', () => {
    expect(nonEmptyIds({ e164: ['', '+15550100'], digits: [' '], bsuid: ['US.1', 'US.1'] })).toEqual({
      e164: ['+15550100'],
      digits: [],
      bsuid: ['US.1'],
    });
  });

  it('warns about a prefix template ending with an identifier, not one ending with a delimiter', () => {
    expect(prefixTemplateWarning('users/{digits}')).toContain('ends with an identifier');
    expect(prefixTemplateWarning('users/{digits}/')).toBeUndefined();
    expect(prefixTemplateWarning('users/{digits}-')).toBeUndefined();
  });
});
