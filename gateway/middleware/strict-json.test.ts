import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_JSON_DEPTH, parseStrictJson, StrictJsonError } from './strict-json';

const fieldOf = (text: string): string => {
  try {
    parseStrictJson(text);
  } catch (err) {
    assert.ok(err instanceof StrictJsonError, String(err));
    return (err as StrictJsonError).field;
  }
  return 'ACCEPTED';
};

test('property: any JSON value without prototype keys parses exactly as JSON.parse does', () => {
  const safeKey = fc.string().filter((k) => !['__proto__', 'constructor', 'prototype'].includes(k));
  const value = fc.letrec((tie) => ({
    v: fc.oneof({ depthSize: 'small' }, fc.jsonValue({ maxDepth: 0 }), fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(safeKey, tie('v'), { maxKeys: 4 })),
  })).v;
  fc.assert(
    fc.property(value, fc.constantFrom(0, 2), (v, indent) => {
      const text = JSON.stringify(v, null, indent);
      assert.equal(parseStrictJson(text), JSON.parse(text));
    }),
  );
});

test('duplicate keys are refused naming the path, also when spelled with escapes', () => {
  assert.is(fieldOf('{"a":1,"a":2}'), 'a');
  assert.is(fieldOf('{"a":1,"\\u0061":2}'), 'a');
  assert.is(fieldOf('{"x":{"y":[{"k":1,"k":1}]}}'), 'x.y[0].k');
  assert.is(fieldOf('{"a":{"b":1},"c":{"b":1}}'), 'ACCEPTED');
});

test('__proto__, constructor and prototype keys are refused at any depth, escaped or not', () => {
  assert.is(fieldOf('{"__proto__":{}}'), '__proto__');
  assert.is(fieldOf('{"\\u005f_proto__":{}}'), '__proto__');
  assert.is(fieldOf('{"a":[{"constructor":{"prototype":{}}}]}'), 'a[0].constructor');
  assert.is(fieldOf('{"a":{"prototype":1}}'), 'a.prototype');
});

test('malformed JSON, trailing garbage and excessive depth → "body" or the deep field', () => {
  for (const bad of ['', '{', '{"a":}', '{"a":1,}', '[1,]', '{"a":1} x', "{'a':1}", '{"a":01}', '{"a":"\u0001"}', 'nul', '{"a" 1}']) {
    assert.is(fieldOf(bad), 'body', JSON.stringify(bad));
  }
  const deep = `${'['.repeat(MAX_JSON_DEPTH + 2)}${']'.repeat(MAX_JSON_DEPTH + 2)}`;
  assert.match(fieldOf(deep), /^\[0\]/);
  assert.is(fieldOf(`${'['.repeat(10)}${']'.repeat(10)}`), 'ACCEPTED');
});

test.run();
