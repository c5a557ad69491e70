/** Data types, scalar-units and constraints of TOSCA values, and type names. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TypeRegistry } from '../../src/tosca/types.ts';
import { checkConstraints, checkValue, scalarMagnitude } from '../../src/tosca/values.ts';

const registry = TypeRegistry.build([]);

describe('type names', () => {
  it('resolves short and tosca: names of the normative types', () => {
    assert.equal(registry.resolve('node', 'Compute'), 'tosca.nodes.Compute');
    assert.equal(registry.resolve('node', 'tosca:Compute'), 'tosca.nodes.Compute');
    assert.equal(registry.resolve('node', 'network.Port'), 'tosca.nodes.network.Port');
    assert.equal(registry.resolve('node', 'Port'), 'tosca.nodes.network.Port');
    assert.equal(registry.resolve('relationship', 'HostedOn'), 'tosca.relationships.HostedOn');
    assert.equal(
      registry.resolve('relationship', 'LinksTo'),
      'tosca.relationships.network.LinksTo',
    );
    assert.equal(registry.resolve('data', 'PortDef'), 'tosca.datatypes.network.PortDef');
    assert.equal(
      registry.resolve('interface', 'Standard'),
      'tosca.interfaces.node.lifecycle.Standard',
    );
    assert.equal(registry.resolve('node', 'Nothing'), undefined);
  });

  it('walks derived_from', () => {
    assert.ok(registry.derivesFrom('node', 'tosca.nodes.DBMS', 'tosca.nodes.SoftwareComponent'));
    assert.ok(registry.derivesFrom('node', 'WebServer', 'tosca.nodes.Root'));
    assert.ok(
      !registry.derivesFrom('node', 'tosca.nodes.Database', 'tosca.nodes.SoftwareComponent'),
    );
    assert.ok(registry.derivesFrom('relationship', 'BindsTo', 'tosca.relationships.DependsOn'));
    assert.equal(
      registry.requirementDefs('tosca.nodes.DBMS').get('host')?.relationship,
      'tosca.relationships.HostedOn',
    );
    assert.ok(registry.attributeNames('tosca.nodes.Compute').has('private_address'));
    assert.ok(registry.attributeNames('tosca.nodes.Compute').has('tosca_id'));
  });
});

describe('checkValue', () => {
  const ok = (value: unknown, type: string, fromText = false) => {
    const checked = checkValue(value, type, registry, fromText);
    assert.ok(checked.ok, JSON.stringify(checked));
    return checked.value;
  };
  const bad = (value: unknown, type: string, reason: RegExp, fromText = false) => {
    const checked = checkValue(value, type, registry, fromText);
    assert.ok(!checked.ok);
    assert.match(checked.reason, reason);
  };

  it('converts text to the declared type', () => {
    assert.equal(ok('42', 'integer', true), 42);
    assert.equal(ok('-1.5e3', 'float', true), -1500);
    assert.equal(ok('false', 'boolean', true), false);
    assert.equal(ok('1.2.3', 'version', true), '1.2.3');
    assert.deepEqual(ok('{"a":1}', 'map', true), { a: 1 });
    assert.deepEqual(ok('[1,2]', 'list', true), [1, 2]);
    assert.equal(ok('', 'null', true), null);
    assert.equal(ok('8080', 'PortDef', true), 8080);
    assert.deepEqual(ok('{"token":"x"}', 'tosca.datatypes.Credential', true), { token: 'x' });
  });

  it('keeps YAML values and takes numbers as strings where a string is declared', () => {
    assert.equal(ok(14.04, 'string'), '14.04');
    assert.equal(ok(3, 'integer'), 3);
  });

  it('refuses values of another type', () => {
    bad(1.5, 'integer', /^1\.5 is not an integer$/);
    bad('1 GB', 'integer', /^"1 GB" is not an integer$/);
    bad(['a'], 'string', /is not a string/);
    bad('x', 'null', /is not null/);
    bad('{"a":1}', 'list', /is not a list/, true);
    bad(
      '10 furlongs',
      'scalar-unit.time',
      /is not a scalar-unit\.time \(a number and one of d, h, m, s, ms, us, ns\)/,
    );
    bad('x', 'nosuchtype', /unknown data type "nosuchtype"/);
  });

  it('reads scalar-units in their base unit', () => {
    assert.equal(scalarMagnitude('2 GiB', 'scalar-unit.size'), 2 * 1024 ** 3);
    assert.equal(scalarMagnitude('512 mb', 'scalar-unit.size'), 512e6);
    assert.equal(scalarMagnitude('1.5 h', 'scalar-unit.time'), 5400);
    assert.equal(scalarMagnitude('2.4 GHz', 'scalar-unit.frequency'), 2.4e9);
    assert.equal(scalarMagnitude('1 KBps', 'scalar-unit.bitrate'), 8000);
    assert.equal(scalarMagnitude('1 kbps', 'scalar-unit.bitrate'), undefined);
    assert.equal(ok(' 10 GB ', 'scalar-unit.size'), '10 GB');
  });
});

describe('checkConstraints', () => {
  const broken = (value: unknown, type: string, constraint: unknown) =>
    checkConstraints(value, type, [constraint], registry);

  it('checks comparisons, ranges, lists, lengths and patterns', () => {
    assert.equal(broken(5, 'integer', { equal: 5 }), undefined);
    assert.match(broken(4, 'integer', { equal: 5 }) ?? '', /^4 is not equal to 5$/);
    assert.match(broken(5, 'integer', { greater_than: 5 }) ?? '', /^5 is not greater than 5$/);
    assert.match(broken(5, 'integer', { less_than: 5 }) ?? '', /^5 is not less than 5$/);
    assert.equal(broken(5, 'integer', { less_or_equal: 5 }), undefined);
    assert.equal(broken(5, 'integer', { in_range: [1, 'UNBOUNDED'] }), undefined);
    assert.equal(broken('90 s', 'scalar-unit.time', { in_range: ['1 m', '2 m'] }), undefined);
    assert.match(
      broken('3 m', 'scalar-unit.time', { in_range: ['1 m', '2 m'] }) ?? '',
      /not in the range/,
    );
    assert.equal(broken('abc', 'string', { length: 3 }), undefined);
    assert.match(
      broken('abc', 'string', { min_length: 4 }) ?? '',
      /has length 3, breaking min_length: 4/,
    );
    assert.match(
      broken(['a', 'b'], 'list', { max_length: 1 }) ?? '',
      /has length 2, breaking max_length: 1/,
    );
    assert.equal(broken('ab12', 'string', { pattern: '[a-z]+\\d+' }), undefined);
    assert.match(
      broken('ab12x', 'string', { pattern: '[a-z]+\\d+' }) ?? '',
      /does not match the pattern/,
    );
  });

  it('reports malformed constraints', () => {
    assert.match(broken(1, 'integer', { at_least: 1 }) ?? '', /^unknown constraint "at_least"$/);
    assert.match(broken(1, 'integer', { in_range: [1] }) ?? '', /in_range needs \[min, max\]/);
    assert.match(broken(1, 'integer', { valid_values: 1 }) ?? '', /valid_values needs a list/);
    assert.match(
      broken(1, 'integer', 'positive') ?? '',
      /is not of the form \{ operator: value \}/,
    );
    assert.match(broken('a', 'string', { greater_than: 1 }) ?? '', /cannot compare "a" with 1/);
  });
});
