import { compareAnswers, diffJson, normalise, parseJsonPath, valueAt } from '../../../../lambda/core/verify/compare';

describe('JSON paths', () => {
  test('GIVEN a path with keys, indexes and a wildcard WHEN parsed THEN steps', () => {
    expect(parseJsonPath('$.items[0].id')).toEqual(['items', 0, 'id']);
    expect(parseJsonPath('$.items[*].requestId')).toEqual(['items', '*', 'requestId']);
    expect(parseJsonPath('$')).toEqual([]);
  });

  test('fails when a path is malformed', () => {
    expect(() => parseJsonPath('items.id')).toThrow('must be a JSON path like $.items[0].id, got: items.id');
  });

  test('GIVEN a document WHEN valueAt THEN found only where the path exists', () => {
    const doc = { items: [{ id: '7', text: null }] };
    expect(valueAt(doc, '$.items[0].id')).toEqual({ found: true, value: '7' });
    expect(valueAt(doc, '$.items[0].text')).toEqual({ found: true, value: null });
    expect(valueAt(doc, '$.items[1].id')).toEqual({ found: false });
    expect(valueAt(doc, '$.items.id')).toEqual({ found: false });
  });
});

describe('normalise', () => {
  test('GIVEN ignored names and paths WHEN normalised THEN those fields are gone at any depth, others kept', () => {
    const doc = {
      requestId: 'r1',
      items: [{ id: 1, createdAt: 't1', meta: { requestId: 'r2', x: 1 } }],
      createdAt: 'top',
    };
    expect(normalise(doc, ['requestId', '$.items[*].createdAt'])).toEqual({
      items: [{ id: 1, meta: { x: 1 } }],
      createdAt: 'top',
    });
    expect(doc.requestId).toBe('r1'); // input unchanged
  });
});

describe('diffJson', () => {
  test('GIVEN the same objects in a different key order THEN no difference', () => {
    expect(diffJson({ a: 1, b: { c: [1, 2], d: 'x' } }, { b: { d: 'x', c: [1, 2] }, a: 1 })).toEqual([]);
  });

  test('GIVEN differences THEN paths and kinds, never values', () => {
    const d = diffJson(
      { a: 1, b: 'secret-old', gone: true, list: [1, 2, 3] },
      { a: '1', b: 'secret-new', added: 1, list: [1, 2] },
    );
    expect(d).toEqual([
      '$.a: number on old, string on new',
      '$.added: only on new',
      '$.b: differs',
      '$.gone: only on old',
      '$.list: 3 items on old, 2 on new',
    ]);
    expect(d.join(' ')).not.toContain('secret');
  });

  test('GIVEN more differences than the limit THEN the rest is counted', () => {
    expect(diffJson({ a: 1, b: 1, c: 1 }, { a: 2, b: 2, c: 2 }, 2)).toEqual([
      '$.a: differs',
      '$.b: differs',
      '... and 1 more',
    ]);
  });
});

describe('compareAnswers', () => {
  test('GIVEN JSON answers differing only in ignored fields THEN the same', () => {
    expect(
      compareAnswers(
        { status: 200, body: '{"id":"1","requestId":"a","at":"t1"}' },
        { status: 200, body: '{"at":"t2","id":"1","requestId":"b"}' },
        ['requestId', 'at'],
      ),
    ).toEqual([]);
  });

  test('GIVEN different statuses THEN only the status is reported (the bodies say nothing more)', () => {
    expect(
      compareAnswers({ status: 200, body: '{"content":"hi"}' }, { status: 404, body: '{"error":"x"}' }, []),
    ).toEqual(['status: 200 on old, 404 on new']);
  });

  test('GIVEN the same status and different JSON bodies THEN the differing paths', () => {
    expect(
      compareAnswers({ status: 200, body: '{"content":"hi"}' }, { status: 200, body: '{"error":"x"}' }, []),
    ).toEqual(['$.content: only on old', '$.error: only on new']);
  });

  test('GIVEN text answers THEN compared as text by length only', () => {
    expect(compareAnswers({ status: 200, body: 'ok\n' }, { status: 200, body: 'ok' }, [])).toEqual([]);
    expect(compareAnswers({ status: 200, body: 'hello' }, { status: 200, body: 'hello!' }, [])).toEqual([
      'body: text differs (5 bytes on old, 6 on new)',
    ]);
    expect(compareAnswers({ status: 200, body: '{}' }, { status: 200, body: '<html>' }, [])).toEqual([
      'body: JSON on old, not JSON on new',
    ]);
  });
});
