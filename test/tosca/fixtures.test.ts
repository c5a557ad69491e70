/**
 * The converter on templates written for these tests (fixtures/ and small temporary ones):
 * requirement notations, relationship templates and types, imports, functions, --ops,
 * inputs, and the errors (file, field, line).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseInputOptions, parseOpsOption, ToscaError } from '../../src/tosca/index.ts';
import { converted, FIXTURES, fails, template, tempTemplates } from './helpers.ts';

const fixture = (name: string) => join(FIXTURES, name);

describe('app.yaml: notations, relationships, imports and functions', () => {
  const v = converted(fixture('app.yaml'));

  it('makes one node per operation, in template and lifecycle order, hosted on the server', () => {
    assert.equal(v.doc.name, 'app');
    assert.deepEqual(v.names, [
      'server',
      'db_create',
      'db_start',
      'app_create',
      'app_configure',
      'app_start',
      'agent_create',
      'agent_configure',
      'monitor_create',
    ]);
    for (const node of v.doc.nodes) {
      assert.equal(node.target, 'server', node.name);
      assert.equal(node.engine, node.name === 'server' ? 'nil' : 'toscassh', node.name);
    }
  });

  it('builds edges for both notations, a relationship template and a custom HostedOn', () => {
    assert.deepEqual(
      v.edges,
      new Set([
        'db_create->db_start',
        'app_create->app_configure',
        'app_configure->app_start',
        'agent_create->agent_configure',
        // `- host: server` and `- host: { node: server }`
        'server->db_create',
        'server->app_create',
        'server->monitor_create',
        // relationship template db_link (a ConnectsTo): db started before app is configured
        'db_start->app_configure',
        // `- monitor: monitor` (DependsOn by default)
        'monitor_create->app_configure',
        // runs_on, a custom type derived from HostedOn: app started before agent is created
        'app_start->agent_create',
      ]),
    );
  });

  it('resolves artifacts: primary, artifact names, and paths of imported types', () => {
    assert.equal(v.node('app_create').artifact, 'app/create.sh');
    assert.equal(v.node('app_start').artifact, 'app/start.sh');
    assert.equal(v.node('monitor_create').artifact, 'types/scripts/monitor_create.sh');
  });

  it('evaluates get_property on SELF, HOST, templates, capabilities and type defaults', () => {
    assert.deepEqual(v.node('app_create').args, [
      // interface-level input of the type, a definition with a default (`unset` has none)
      'greeting=hi',
      // [SELF, host, num_cpus]: the host requirement's target, its host capability
      'cpus=4',
      // [server, host, mem_size]: the server's own host capability
      'mem=2 GB',
      'host_cpus=4',
      'db_name=appdb',
      // capability property default from the capability type (Endpoint.protocol)
      'db_protocol=tcp',
      // property default inherited through derived_from (my.nodes.App -> my.nodes.Base)
      'tier=backend',
      // a custom data type derived from string
      'level=low',
    ]);
    // [HOST, listen_port]: app's property, itself a get_input
    assert.ok(v.node('agent_configure').args.includes('app_port=8080'));
    assert.deepEqual(v.node('monitor_create').args, ['interval=30']);
  });

  it('turns get_attribute into run-time args and declares the outputs', () => {
    assert.deepEqual(v.node('app_configure').args, [
      'greeting=hi',
      // the last node of db
      'db_address=get_attribute db_start:private_address',
      'url=http://backend:8080',
      'members=a,b,c',
      'second=y',
      // get_operation_output names its operation
      'created_id=get_attribute app_create:id',
    ]);
    assert.deepEqual(v.node('db_start').output, { private_address: '' });
    assert.deepEqual(v.node('app_create').output, { id: '' });
    assert.deepEqual(v.node('agent_configure').args, [
      // HOST: the nearest host whose type has the attribute, the Compute (a nil node)
      'app_host=get_attribute server:private_address',
      'app_port=8080',
      // SELF: the latest operation of the template before the reader
      'own_id=get_attribute agent_create:tosca_id',
    ]);
    assert.deepEqual(v.node('agent_create').output, { tosca_id: '' });
    assert.deepEqual(v.node('server').output, {});
  });

  it('takes input values over defaults, checked against custom data types', () => {
    const high = converted(fixture('app.yaml'), { inputs: { level: 'high', port: '9000' } });
    assert.ok(high.node('app_create').args.includes('level=high'));
    assert.ok(high.node('app_configure').args.includes('url=http://backend:9000'));
    fails(
      fixture('app.yaml'),
      /^app\.yaml: inputs\.level: "medium" is not one of the valid values "low", "high" \(given level=medium\) \(line 25\)$/,
      { inputs: { level: 'medium' } },
    );
  });
});

describe('--ops', () => {
  it('runs create, configure and start by default; stop and delete are left out', () => {
    const v = converted(fixture('lifecycle.yaml'));
    assert.deepEqual(v.names, [
      'server',
      'db_create',
      'db_start',
      'app_create',
      'app_configure',
      'app_start',
    ]);
    assert.deepEqual(
      v.edges,
      new Set([
        'db_create->db_start',
        'app_create->app_configure',
        'app_configure->app_start',
        'server->db_create',
        'server->app_create',
        'db_start->app_configure',
      ]),
    );
  });

  it('turns operations not chosen into nil nodes and keeps the shape', () => {
    const all = converted(fixture('lifecycle.yaml'));
    const v = converted(fixture('lifecycle.yaml'), { ops: ['start'] });
    assert.deepEqual(v.names, all.names);
    assert.deepEqual(v.edges, all.edges);
    const engines = Object.fromEntries(v.doc.nodes.map((n) => [n.name, n.engine]));
    assert.deepEqual(engines, {
      server: 'nil',
      db_create: 'nil',
      db_start: 'toscassh',
      app_create: 'nil',
      app_configure: 'nil',
      app_start: 'toscassh',
    });
  });

  it('reads an attribute from the last operation that runs', () => {
    const v = converted(fixture('app.yaml'), { ops: ['create'] });
    assert.ok(
      v.node('app_configure').args.includes('db_address=get_attribute db_create:private_address'),
    );
    assert.deepEqual(v.node('db_create').output, { private_address: '' });
    assert.deepEqual(v.node('db_start').output, {});
    assert.equal(v.node('db_start').engine, 'nil');
  });

  it('builds a teardown graph for stop and delete, requirements reversed', () => {
    const v = converted(fixture('lifecycle.yaml'), { ops: ['stop', 'delete'] });
    assert.deepEqual(v.names, ['server', 'db_stop', 'db_delete', 'app_stop']);
    assert.deepEqual(
      v.edges,
      new Set(['db_stop->db_delete', 'db_delete->server', 'app_stop->server', 'app_stop->db_stop']),
    );
    const stopOnly = converted(fixture('lifecycle.yaml'), { ops: ['stop'] });
    assert.equal(stopOnly.node('db_delete').engine, 'nil');
    assert.equal(stopOnly.node('db_stop').engine, 'toscassh');
  });

  it('refuses unknown, empty and mixed selections', () => {
    fails(
      fixture('lifecycle.yaml'),
      /^lifecycle\.yaml: unknown operation "install" in --ops, expected some of create, configure, start, stop, delete$/,
      {
        ops: ['create', 'install'],
      },
    );
    fails(fixture('lifecycle.yaml'), /^lifecycle\.yaml: --ops is empty/, { ops: [] });
    fails(fixture('lifecycle.yaml'), /--ops mixes deployment .* and teardown .* operations/, {
      ops: ['start', 'stop'],
    });
  });

  it('parses the CLI forms of --input and --ops', () => {
    assert.deepEqual(parseInputOptions(['a=1', 'b=x=y', 'c=']), { a: '1', b: 'x=y', c: '' });
    assert.throws(() => parseInputOptions(['novalue']), ToscaError);
    assert.throws(() => parseInputOptions(['a=1', 'a=2']), /--input a is given twice/);
    assert.deepEqual(parseOpsOption('create, configure,,start'), ['create', 'configure', 'start']);
  });
});

describe('inputs', () => {
  const file = fixture('inputs.yaml');

  it('passes given values and defaults, typed, as args', () => {
    const v = converted(file, {
      inputs: { name: 'job1', count: '3', debug: 'true', size: '512 MB', tags: '["x","y"]' },
    });
    assert.deepEqual(v.node('job_create').args, [
      'name=job1',
      'count=3',
      'ratio=0.5',
      'debug=true',
      'size=512 MB',
      'colour=red',
      'port=80',
      'tags=["x","y"]',
      'first_tag=x',
      // optional and not given: empty
      'note=',
    ]);
  });

  it('names a missing required input', () => {
    fails(
      file,
      /^inputs\.yaml: inputs\.name: required input "name" is missing \(no default\): give --input name=VALUE \(line 7\)$/,
    );
  });

  it('refuses an input the template does not declare', () => {
    fails(
      file,
      /^inputs\.yaml: inputs: unknown input "nmae": the template declares name, count, ratio, debug, size, colour, port, tags, note \(line 6\)$/,
      { inputs: { nmae: 'x' } },
    );
  });

  const mistyped: [Record<string, string>, RegExp][] = [
    [
      { count: 'three' },
      /inputs\.count: "three" is not an integer \(given count=three\) \(input of type integer\) \(line 9\)$/,
    ],
    [
      { count: '0' },
      /inputs\.count: 0 is not greater than or equal to 1 \(given count=0\) \(line 9\)$/,
    ],
    [{ ratio: '1.5' }, /inputs\.ratio: 1\.5 is not in the range 0 to 1 \(given ratio=1\.5\)/],
    [{ ratio: 'half' }, /inputs\.ratio: "half" is not a number/],
    [{ debug: 'yes' }, /inputs\.debug: "yes" is not a boolean \(true or false\)/],
    [{ size: '3 GB' }, /inputs\.size: "3 GB" is not less than or equal to "2 GiB"/],
    [
      { size: '3 parsecs' },
      /inputs\.size: "3 parsecs" is not a scalar-unit\.size \(a number and one of b, kb, kib/,
    ],
    [{ colour: 'blue' }, /inputs\.colour: "blue" is not one of the valid values "red", "green"/],
    [{ port: '0' }, /inputs\.port: 0 is not in the range 1 to 65535/],
    [{ tags: 'a,b' }, /inputs\.tags: "a,b" is not a JSON list/],
  ];
  for (const [given, message] of mistyped) {
    it(`refuses ${JSON.stringify(given)}`, () => {
      fails(file, message, { inputs: { name: 'job1', ...given } });
    });
  }
});

describe('errors name the file, the field and the line', () => {
  it('a cycle through requirements', () => {
    fails(
      fixture('cycle.yaml'),
      /^cycle\.yaml: node_templates\.back\.requirements\[1\]: the requirements form a cycle: front_start -> back_configure -> front_start \(templates front, back\) \(line 22\)$/,
    );
  });

  it('an undefined node in a requirement', () => {
    fails(
      fixture('undefined_node.yaml'),
      /^undefined_node\.yaml: node_templates\.app\.requirements\[1\]: node "servr" is not defined \(line 13\)$/,
    );
  });

  it('a get_attribute of a template that does not run before', () => {
    fails(
      fixture('not_upstream.yaml'),
      /^not_upstream\.yaml: node_templates\.app\.interfaces\.Standard\.configure\.inputs\.peer: get_attribute: \["server_b","private_address"\]: server_b does not run before app_configure; add a requirement from app to server_b .*\(line 20\)$/,
    );
  });

  it('a concat of a run-time attribute', () => {
    fails(
      fixture('concat_runtime.yaml'),
      /^concat_runtime\.yaml: node_templates\.app\.interfaces\.Standard\.configure\.inputs\.url\.concat\[1\]: get_attribute: \["server","private_address"\] inside concat cannot be evaluated before the run/,
    );
  });

  const server = '    server:\n      type: Compute\n';
  const cases: [string, Record<string, string>, RegExp][] = [
    [
      'a requirement naming a node type',
      {
        'main.yaml': template(
          `  node_templates:\n${server}    app:\n      type: SoftwareComponent\n      requirements:\n        - host: tosca.nodes.Compute\n`,
        ),
      },
      /^main\.yaml: node_templates\.app\.requirements\[0\]: node "tosca\.nodes\.Compute" is a node type; a requirement must name a node template of the topology \(line 9\)$/,
    ],
    [
      'an unknown relationship',
      {
        'main.yaml': template(
          `  node_templates:\n${server}    app:\n      type: SoftwareComponent\n      requirements:\n        - host: { node: server, relationship: SitsOn }\n`,
        ),
      },
      /^main\.yaml: node_templates\.app\.requirements\[0\]\.host\.relationship: relationship "SitsOn" is neither a relationship template nor a relationship type/,
    ],
    [
      'SOURCE outside a relationship',
      {
        'main.yaml': template(
          `  node_templates:\n${server}    app:\n      type: SoftwareComponent\n      requirements: [ { host: server } ]\n      interfaces:\n        Standard:\n          create:\n            implementation: a.sh\n            inputs:\n              x: { get_property: [ SOURCE, port ] }\n`,
        ),
      },
      /inputs\.x: get_property: \["SOURCE","port"\]: SOURCE only means something in a relationship's operations/,
    ],
    [
      'a property without value or default',
      {
        'main.yaml': template(
          `  node_templates:\n${server}    app:\n      type: SoftwareComponent\n      requirements: [ { host: server } ]\n      interfaces:\n        Standard:\n          create:\n            implementation: a.sh\n            inputs:\n              v: { get_property: [ SELF, component_version ] }\n`,
        ),
      },
      /get_property: \["SELF","component_version"\]: property "component_version" of app is not set and tosca\.nodes\.SoftwareComponent gives no default/,
    ],
    [
      'get_attribute of SELF in the first operation',
      {
        'main.yaml': template(
          `  node_templates:\n${server}    app:\n      type: SoftwareComponent\n      requirements: [ { host: server } ]\n      interfaces:\n        Standard:\n          create:\n            implementation: a.sh\n            inputs:\n              x: { get_attribute: [ SELF, tosca_id ] }\n`,
        ),
      },
      /inputs\.x: get_attribute: \["SELF","tosca_id"\]: no operation of app runs before app_create to produce it \(line 14\)$/,
    ],
    [
      'get_operation_output of an operation the template lacks',
      {
        'main.yaml': template(
          `  node_templates:\n${server}    app:\n      type: SoftwareComponent\n      requirements: [ { host: server } ]\n      interfaces:\n        Standard:\n          create:\n            implementation: a.sh\n            inputs:\n              x: { get_operation_output: [ server, Standard, start, ip ] }\n`,
        ),
      },
      /inputs\.x: get_operation_output: \["server","Standard","start","ip"\]: server has no start operation in this graph/,
    ],
    [
      'a capability the requirement target lacks',
      {
        'main.yaml': template(
          `  node_templates:\n${server}    app:\n      type: SoftwareComponent\n      requirements: [ { host: server } ]\n      interfaces:\n        Standard:\n          create:\n            implementation: a.sh\n            inputs:\n              x: { get_property: [ SELF, host, nothing, deeper ] }\n`,
        ),
      },
      /get_property: \["SELF","host","nothing","deeper"\]: property "nothing" of capability host of server is not set and has no default/,
    ],
    [
      'token out of range',
      {
        'main.yaml': template(
          `  node_templates:\n${server}    app:\n      type: SoftwareComponent\n      requirements: [ { host: server } ]\n      interfaces:\n        Standard:\n          create:\n            implementation: a.sh\n            inputs:\n              x: { token: [ 'a-b', '-', 5 ] }\n`,
        ),
      },
      /token: \["a-b","-",5\]: index 5 is out of range \(2 tokens\)/,
    ],
    [
      'an unsupported function',
      {
        'main.yaml': template(
          `  node_templates:\n${server}    app:\n      type: SoftwareComponent\n      requirements: [ { host: server } ]\n      interfaces:\n        Standard:\n          create:\n            implementation: a.sh\n            inputs:\n              x: { get_artifact: [ SELF, x ] }\n`,
        ),
      },
      /inputs\.x: get_artifact is not supported: it has no value before the deployment runs/,
    ],
    [
      'an unknown operation',
      {
        'main.yaml': template(
          `  node_templates:\n${server}    app:\n      type: SoftwareComponent\n      interfaces:\n        Standard:\n          install: a.sh\n`,
        ),
      },
      /^main\.yaml: node_templates\.app\.interfaces\.Standard\.install: unknown operation "install" of the Standard interface \(expected one of create, configure, start, stop, delete\) \(line 10\)$/,
    ],
    [
      'an undeclared get_input',
      {
        'main.yaml': template(
          `  node_templates:\n    server:\n      type: Compute\n      capabilities:\n        host:\n          properties:\n            num_cpus: { get_input: cpus }\n`,
        ),
      },
      /^main\.yaml: node_templates\.server\.capabilities\.host\.properties\.num_cpus: get_input "cpus": no such input is declared in topology_template\.inputs \(line 9\)$/,
    ],
    [
      'a misspelt field',
      {
        'main.yaml': template(
          `  node_templates:\n    server:\n      type: Compute\n      requirement: []\n`,
        ),
      },
      /^main\.yaml: node_templates\.server\.requirement: unknown field "requirement" .*\(line 6\)$/,
    ],
    [
      'two templates making the same node name',
      {
        'main.yaml': template(
          `  node_templates:\n${server}    app:\n      type: SoftwareComponent\n      interfaces: { Standard: { create: a.sh } }\n    app_create:\n      type: Compute\n`,
        ),
      },
      /^main\.yaml: node_templates\.app_create: the gorch node name "app_create" is made twice \(by app and app_create\)/,
    ],
    [
      'YAML that does not parse',
      {
        'main.yaml':
          'tosca_definitions_version: tosca_simple_yaml_1_0\ntopology_template:\n  node_templates: [\n',
      },
      /^main\.yaml: not valid YAML: line \d+ column \d+: /,
    ],
    [
      'an alias to the collection that contains it',
      {
        'main.yaml': template(
          `  node_templates:\n${server}    app:\n      type: SoftwareComponent\n      requirements: [ { host: server } ]\n      interfaces:\n        Standard:\n          create:\n            implementation: a.sh\n            inputs:\n              x: &loop [ 1, *loop ]\n`,
        ),
      },
      /^main\.yaml: node_templates\.app\.interfaces\.Standard\.create\.inputs\.x\[1\]: an alias refers to a collection that contains it \(line 14\)$/,
    ],
    [
      'values nested 65 levels deep',
      {
        'main.yaml': template(
          `  node_templates:\n${server}    app:\n      type: SoftwareComponent\n      requirements: [ { host: server } ]\n      interfaces:\n        Standard:\n          create:\n            implementation: a.sh\n            inputs:\n              x: ${'{ concat: ['.repeat(30)}1${'] }'.repeat(30)}\n`,
        ),
      },
      /\.inputs\.x(\.concat\[0\]){28}\.concat: collections are nested more than 64 levels deep here/,
    ],
    [
      "YAML nested past the reader's stack",
      {
        'main.yaml': template(
          `  node_templates:\n${server}    app:\n      type: Compute\n      properties:\n        x: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`,
        ),
      },
      /^main\.yaml: not valid YAML: line \d+ column \d+: nested too deeply \(collections may nest 64 levels\)$/,
    ],
    [
      'an unknown version',
      { 'main.yaml': 'tosca_definitions_version: tosca_simple_yaml_9\ntopology_template: {}\n' },
      /^main\.yaml: tosca_definitions_version: unsupported version "tosca_simple_yaml_9", expected one of .* \(line 1\)$/,
    ],
    [
      'a URL import inside an import',
      {
        'main.yaml': template(`  node_templates:\n${server}`, 'imports:\n  - lib.yaml\n'),
        'lib.yaml':
          'tosca_definitions_version: tosca_simple_yaml_1_0\nimports:\n  - lib: { file: "http://example.com/types.yaml" }\n',
      },
      /^lib\.yaml: imports\[0\]: cannot import http:\/\/example\.com\/types\.yaml: URL imports are not fetched/,
    ],
    [
      'a topology in an imported file',
      {
        'main.yaml': template(`  node_templates:\n${server}`, 'imports:\n  - other.yaml\n'),
        'other.yaml': template(`  node_templates:\n${server}`),
      },
      /^other\.yaml: topology_template: an imported file may only define types; its topology_template would be lost \(line 2\)$/,
    ],
    [
      'an import that does not exist',
      { 'main.yaml': template(`  node_templates:\n${server}`, 'imports:\n  - nothere.yaml\n') },
      /^main\.yaml: imports\[0\]: cannot read the imported file .*nothere\.yaml: no such file \(line 3\)$/,
    ],
    [
      'a type with an unknown parent',
      {
        'main.yaml': template(
          `  node_templates:\n    x:\n      type: my.X\n`,
          'node_types:\n  my.X:\n    derived_from: my.Y\n',
        ),
      },
      /^main\.yaml: node_types\["my\.X"\]\.derived_from: unknown node type "my\.Y" \(line 4\)$/,
    ],
  ];
  for (const [what, files, message] of cases) {
    it(what, () => {
      const dir = tempTemplates(files);
      fails(join(dir, 'main.yaml'), message);
    });
  }

  it('a missing template file', () => {
    fails(
      '/nonexistent/x.yaml',
      /^\/nonexistent\/x\.yaml: cannot read the template: no such file$/,
    );
  });
});

describe('imports', () => {
  it('resolves an absolute path import', () => {
    const dir = tempTemplates({
      'main.yaml': template(
        `  node_templates:\n    server:\n      type: Compute\n    app:\n      type: my.nodes.Base\n      requirements: [ { host: server } ]\n      interfaces:\n        Standard:\n          create:\n            implementation: a.sh\n            inputs:\n              tier: { get_property: [ SELF, tier ] }\n`,
        `imports:\n  - ${JSON.stringify(fixture('types/base.yaml'))}\n`,
      ),
    });
    const v = converted(join(dir, 'main.yaml'));
    assert.deepEqual(v.node('app_create').args, ['tier=backend']);
    assert.equal(v.node('app_create').target, 'server');
  });

  it('reads a file imported twice once', () => {
    const dir = tempTemplates({
      'main.yaml': template(
        `  node_templates:\n    server:\n      type: Compute\n`,
        'imports:\n  - a.yaml\n  - b.yaml\n',
      ),
      'a.yaml': 'tosca_definitions_version: tosca_simple_yaml_1_0\nimports: [ b.yaml ]\n',
      'b.yaml':
        'tosca_definitions_version: tosca_simple_yaml_1_0\nimports: [ a.yaml ]\nnode_types:\n  my.B: { derived_from: Root }\n',
    });
    assert.deepEqual(converted(join(dir, 'main.yaml')).names, ['server']);
  });

  it('refuses the same type defined by two files', () => {
    const dir = tempTemplates({
      'main.yaml': template(
        `  node_templates:\n    server:\n      type: Compute\n`,
        'imports:\n  - a.yaml\n  - b.yaml\n',
      ),
      'a.yaml': 'tosca_definitions_version: tosca_simple_yaml_1_0\nnode_types:\n  my.T: {}\n',
      'b.yaml': 'tosca_definitions_version: tosca_simple_yaml_1_0\nnode_types:\n  my.T: {}\n',
    });
    fails(
      join(dir, 'main.yaml'),
      /^b\.yaml: node_types\["my\.T"\]: type my\.T is already defined in a\.yaml \(line 3\)$/,
    );
  });
});
