import { GuardViolation, tokenize } from '../../../lambda/engine/sql-guard';

describe('tokenize (the spec expression guard)', () => {
  test("GIVEN string literals and quoted identifiers WHEN tokenized THEN doubled quotes and E'…' escapes are read", () => {
    expect(tokenize(`'it''s' || E'a\\'b' || "Col""x" || U&"d"`)).toEqual([
      { kind: 'string', text: "it's" },
      { kind: 'op', text: '||' },
      { kind: 'string', text: "a'b" },
      { kind: 'op', text: '||' },
      { kind: 'quoted', text: 'Col"x' },
      { kind: 'op', text: '||' },
      { kind: 'quoted', text: 'd' },
    ]);
  });

  test('GIVEN an unterminated literal or identifier WHEN tokenized THEN a GuardViolation names it', () => {
    expect(() => tokenize(`'abc`)).toThrow(new GuardViolation('unterminated string literal'));
    expect(() => tokenize(`E'abc\\'`)).toThrow('unterminated string literal');
    expect(() => tokenize(`"abc`)).toThrow('unterminated quoted identifier');
    expect(() => tokenize(`s.a -- x`)).toThrow('comments are not allowed');
  });
});
