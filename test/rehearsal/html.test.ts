import { escapeHtml, html, raw } from '../../lambda/rehearsal/html';

describe('html tagged template', () => {
  test('GIVEN text with markup WHEN interpolated THEN it is escaped, in content and in attributes', () => {
    const name = `<img src=x onerror="alert('1')">&`;
    expect(html`<td title="${name}">${name}</td>`.value).toBe(
      '<td title="&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;">' +
        '&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;</td>',
    );
  });

  test('GIVEN nested html, raw(), arrays and absent values WHEN interpolated THEN markup is kept once and nothing is printed for absent values', () => {
    const rows = ['a<b', 'c'].map((c) => html`<li>${c}</li>`);
    expect(html`<ul>${rows}</ul>${raw('<hr>')}${undefined}${null}${false}${0}`.value).toBe(
      '<ul><li>a&lt;b</li><li>c</li></ul><hr>0',
    );
    expect(`${html`<b>${'<'}</b>`}`).toBe('<b>&lt;</b>');
    expect(escapeHtml(`"'`)).toBe('&quot;&#39;');
  });
});
