// A strict INI reader: sections, key=value lines and comments, refusing anything ambiguous (repeats, stray lines) with its line number.
import { badInput } from '../errors/codes.js';

/**
 * Why not the `ini` package: it silently merges a repeated section and lets a
 * repeated key overwrite the first, so `max_instances=5 … max_instances=50`
 * would be accepted with one of the two quietly ignored. Reactor refuses both.
 *
 * Grammar, one line at a time (lines split on `\n`, a trailing `\r` dropped):
 *
 * - blank line, or a full-line comment whose first non-blank character is `#` or `;`;
 * - `[name]`: starts a section; each name at most once per file;
 * - `key=value`: key and value trimmed; the value is everything after the first
 *   `=` (so it may hold `=`, `<`, `,`, `;`); inside a section only, each key at
 *   most once per section;
 * - an inline comment: a `#` preceded by whitespace ends the value (or the
 *   section header), as in `port=5000   # backend port`. A `#` with no
 *   whitespace before it is part of the value (`redirect=http://x/#top`).
 */

/** One `key=value` line. */
export interface IniEntry {
  key: string;
  value: string;
  /** 1-based line number in the input, for error messages. */
  line: number;
}

/** One `[name]` section with its entries in file order. */
export interface IniSection {
  name: string;
  line: number;
  entries: IniEntry[];
}

/** A whole file: sections in file order. */
export interface IniDocument {
  sections: IniSection[];
}

const SECTION_NAME = /^[A-Za-z0-9_.:-]+$/;
const KEY_NAME = /^[A-Za-z0-9_.-]+$/;

/** Cuts an inline comment: the first `#` that follows whitespace, and everything after it. */
export function stripInlineComment(text: string): string {
  const match = /\s#/.exec(text);
  return match ? text.slice(0, match.index) : text;
}

/** Parses INI text; throws BAD_USER_INPUT naming the line for anything the grammar above does not allow. */
export function parseIni(text: string): IniDocument {
  const sections: IniSection[] = [];
  const seenSections = new Map<string, number>();
  let current: IniSection | undefined;
  let seenKeys = new Map<string, number>();

  const lines = text.replace(/^\uFEFF/, '').split('\n');
  lines.forEach((rawLine, index) => {
    const line = index + 1;
    const trimmed = rawLine.replace(/\r$/, '').trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) return;

    if (trimmed.startsWith('[')) {
      const header = stripInlineComment(trimmed).trim();
      const match = /^\[\s*([^\]]*?)\s*\]$/.exec(header);
      if (!match || !SECTION_NAME.test(match[1])) {
        throw badInput(
          `line ${line}: "${trimmed}" is not a valid section header; expected [name] with letters, digits, "_", "-", "." or ":"`,
          { line, text: trimmed },
        );
      }
      const name = match[1];
      const first = seenSections.get(name);
      if (first !== undefined) {
        throw badInput(
          `line ${line}: section [${name}] is repeated (first at line ${first}); write each section once`,
          { line, section: name },
        );
      }
      seenSections.set(name, line);
      current = { name, line, entries: [] };
      seenKeys = new Map();
      sections.push(current);
      return;
    }

    const equals = trimmed.indexOf('=');
    if (equals < 0) {
      throw badInput(
        `line ${line}: "${trimmed}" is neither a [section], a key=value line nor a comment`,
        { line, text: trimmed },
      );
    }
    const key = trimmed.slice(0, equals).trim();
    const value = stripInlineComment(trimmed.slice(equals + 1)).trim();
    if (!KEY_NAME.test(key)) {
      throw badInput(
        `line ${line}: "${trimmed}" has no valid key before "="; keys use letters, digits, "_", "-" or "."`,
        { line, text: trimmed },
      );
    }
    if (!current) {
      throw badInput(`line ${line}: key "${key}" appears before any [section]; put it under a section header`, {
        line,
        key,
      });
    }
    const first = seenKeys.get(key);
    if (first !== undefined) {
      throw badInput(
        `line ${line}: [${current.name}] ${key} is repeated (first at line ${first}); set each key once per section`,
        { line, section: current.name, key },
      );
    }
    seenKeys.set(key, line);
    current.entries.push({ key, value, line });
  });

  return { sections };
}

/**
 * Whether `value` survives being written as `key=value` and read back unchanged:
 * no line break, no surrounding whitespace, no `#` after whitespace.
 */
export function isIniSafeValue(value: string): boolean {
  return !/[\r\n]/.test(value) && value === value.trim() && stripInlineComment(value) === value;
}

/** Writes sections in the given order, one `key=value` per line, a blank line between sections. */
export function renderIni(sections: ReadonlyArray<{ name: string; entries: ReadonlyArray<{ key: string; value: string }> }>): string {
  return sections
    .map((section) => [`[${section.name}]`, ...section.entries.map((e) => `${e.key}=${e.value}`)].join('\n'))
    .join('\n\n')
    .concat('\n');
}
