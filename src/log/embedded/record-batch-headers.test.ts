import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeHeaders } from './record-batch.js';

describe('encodeHeaders', () => {
  it("writes a toggled output's source and toggles headers as JSON.stringify does, falling back where escaping is needed", () => {
    const cases: Array<Record<string, string>> = [
      { 'slipway-source': 'orders.v1/0/12#1', 'slipway-toggles': '3;new-pricing=new,eu-output=off' },
      { 'slipway-toggles': '0;', 'slipway-source': 'orders.v1/3/0' },
      { 'slipway-source': 'a"b/0/1', 'slipway-toggles': '1;x=y' },
      { 'slipway-source': 'a/0/1', 'slipway-toggles': '1;x=\\y' },
      { 'slipway-source': 'é/0/1', 'slipway-toggles': '1;x=\n' },
      { 'slipway-source': 'a/0/1', 'slipway-toggles': '1;x=y', trace: 't' },
      { 'slipway-toggles': '1;x=y' },
    ];
    for (const h of cases) {
      const json = encodeHeaders(h) as string;
      assert.deepEqual(JSON.parse(json), h, json);
      if (Object.keys(h).length === 2 && Object.keys(h)[0] === 'slipway-source') assert.equal(json, JSON.stringify(h));
    }
  });
});
