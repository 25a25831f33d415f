// Every failure a user can fix is a UserError: a title, then what was found, what is expected and
// how to fix it. main.ts renders it without a stack trace and exits non-zero. Anything else that
// escapes is an internal error and is shown with its stack, because it is our bug.
export class UserError extends Error {
  override name = 'UserError';
  constructor(
    readonly title: string,
    readonly body: string[],
  ) {
    super([title, ...body].join("\n"));
  }
}

/** Shows control and non-printable characters so an error can quote a garbled line safely. */
export function printable(text: string, max = 120): string {
  // Only the head is looked at: quoting a 10 MB line must not split all of it into characters.
  const head = text.length > max * 2 ? text.slice(0, max * 2) : text;
  const shown = [...head]
    .map((c) => {
      const code = c.codePointAt(0)!;
      if (c === '\t') return '\\t';
      if (code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0) || code === 0xfffd || code === 0xfeff) return '\uFFFD';
      return c;
    })
    .join('');
  return shown.length > max || head.length < text.length ? `${shown.slice(0, max)}…` : shown;
}
