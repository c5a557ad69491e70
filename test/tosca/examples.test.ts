/**
 * Every file of the shared TOSCA examples (../shared/tosca, read in place): each valid one
 * converts and passes the gorch parser; each invalid one fails with a message naming the
 * file, the field and the problem. A new file in that folder fails the coverage test until
 * it is listed here.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { sharedDir } from '../support/shared.ts';
import { converted, fails } from './helpers.ts';

const EXAMPLES = join(sharedDir(), 'tosca/');
const at = (file: string) => join(EXAMPLES, file);

interface Valid {
  inputs?: Record<string, string>;
  /** the required inputs without default, named when they are not given */
  missing?: string[];
  nodes: number;
}
interface Invalid {
  inputs?: Record<string, string>;
  error: RegExp;
}

const WORDPRESS_INPUTS = { db_root_pwd: 'r00t' };
const STORAGE_INPUTS = { cpus: '2', storage_snapshot_id: 'snap-1', storage_location: '/data' };

const VALID: Record<string, Valid> = {
  'example1.yaml': { nodes: 1 },
  'example2.yaml': { inputs: { cpus: '2' }, missing: ['cpus'], nodes: 1 },
  'test_host_assignment.yaml': { nodes: 7 },
  'tosca_elk.yaml': { nodes: 25 },
  'tosca_helloworld.yaml': { nodes: 1 },
  'tosca_nodejs_mongodb_two_instances.yaml': { nodes: 9 },
  'tosca_one_server_one_network.yaml': {
    inputs: { network_name: 'net' },
    missing: ['network_name'],
    nodes: 3,
  },
  'tosca_single_instance_wordpress.yaml': {
    inputs: WORDPRESS_INPUTS,
    missing: ['db_root_pwd'],
    nodes: 9,
  },
  'tosca_single_server.yaml': { inputs: { cpus: '1' }, missing: ['cpus'], nodes: 1 },
  'tosca_single_server_with_defaults.yaml': { nodes: 1 },
  'tosca_software_component.yaml': { nodes: 3 },
  'tosca_web_application.yaml': { nodes: 5 },
  'network/tosca_one_server_one_network.yaml': {
    inputs: { network_name: 'net' },
    missing: ['network_name'],
    nodes: 3,
  },
  'network/tosca_one_server_three_networks.yaml': { nodes: 7 },
  'network/tosca_server_on_existing_network.yaml': {
    inputs: { network_name: 'net' },
    missing: ['network_name'],
    nodes: 3,
  },
  'network/tosca_two_servers_one_network.yaml': {
    inputs: { network_name: 'net' },
    missing: ['network_name'],
    nodes: 5,
  },
  'storage/tosca_blockstorage_with_attachment.yaml': {
    inputs: STORAGE_INPUTS,
    missing: ['cpus', 'storage_snapshot_id', 'storage_location'],
    nodes: 2,
  },
  'storage/tosca_blockstorage_with_attachment_notation1.yaml': {
    inputs: { cpus: '4', storage_snapshot_id: 'snap-1' },
    missing: ['cpus', 'storage_snapshot_id'],
    nodes: 3,
  },
  'storage/tosca_blockstorage_with_attachment_notation2.yaml': {
    inputs: STORAGE_INPUTS,
    missing: ['cpus', 'storage_snapshot_id', 'storage_location'],
    nodes: 3,
  },
  'storage/tosca_blockstorage_with_custom_relationship_type.yaml': {
    inputs: STORAGE_INPUTS,
    missing: ['cpus', 'storage_snapshot_id', 'storage_location'],
    nodes: 2,
  },
  'storage/tosca_blockstorage_with_relationship_template.yaml': {
    inputs: { cpus: '8', storage_location: '/data' },
    missing: ['cpus', 'storage_location'],
    nodes: 2,
  },
  'storage/tosca_multiple_blockstorage_with_attachment.yaml': {
    inputs: STORAGE_INPUTS,
    missing: ['cpus', 'storage_snapshot_id', 'storage_location'],
    nodes: 4,
  },
  'storage/tosca_single_object_store.yaml': {
    inputs: { objectstore_name: 'bucket' },
    missing: ['objectstore_name'],
    nodes: 1,
  },
};

const INVALID: Record<string, Invalid> = {
  'tosca_helloworld_invalid.yaml': {
    error:
      /^tosca_helloworld_invalid\.yaml: tosca_definitions_version is missing \(found "tosca_definitions"\): a TOSCA file starts with tosca_definitions_version: tosca_simple_yaml_1_0$/,
  },
  // spec excerpts: the MySQL types are not normative and not imported, the inputs not declared
  'example3.yaml': {
    error:
      /^example3\.yaml: node_templates\.mysql\.type: unknown node type "tosca\.nodes\.DBMS\.MySQL" .*\(line 12\)$/,
  },
  'example4.yaml': {
    error:
      /^example4\.yaml: node_templates\.mysql\.type: unknown node type "tosca\.nodes\.DBMS\.MySQL" .*\(line 11\)$/,
  },
  // uses the WordPress type without importing custom_types/wordpress.yaml
  'test.yaml': {
    inputs: WORDPRESS_INPUTS,
    error:
      /^test\.yaml: node_templates\.wordpress\.type: unknown node type "tosca\.nodes\.WebApplication\.WordPress" .*\(line 36\)$/,
  },
  // integer inputs whose default is "1 GB"
  'tosca_blockstorage_with_attachment.yaml': {
    inputs: STORAGE_INPUTS,
    error:
      /^tosca_blockstorage_with_attachment\.yaml: inputs\.storage_size\.default: "1 GB" is not an integer \(input of type integer\) \(line 16\)$/,
  },
  'tosca_blockstorage_with_attachment_notation1.yaml': {
    inputs: STORAGE_INPUTS,
    error:
      /^tosca_blockstorage_with_attachment_notation1\.yaml: inputs\.storage_size\.default: "1 GB" is not an integer/,
  },
  'tosca_single_instance_wordpress_with_url_import.yaml': {
    inputs: WORDPRESS_INPUTS,
    error:
      /^tosca_single_instance_wordpress_with_url_import\.yaml: imports\[0\]: cannot import https:\/\/raw\.githubusercontent\.com\/.*\/wordpress\.yaml: URL imports are not fetched; .* \(line 7\)$/,
  },
  'tosca_single_instance_wordpress_with_local_abspath_import.yaml': {
    inputs: WORDPRESS_INPUTS,
    error:
      /^tosca_single_instance_wordpress_with_local_abspath_import\.yaml: imports\[0\]: cannot read the imported file \/tmp\/wordpress\.yaml: no such file \(line 12\)$/,
  },
};

/** Type libraries imported by the templates: not service templates themselves. */
const LIBRARIES = [
  'custom_types/collectd.yaml',
  'custom_types/elasticsearch.yaml',
  'custom_types/kibana.yaml',
  'custom_types/logstash.yaml',
  'custom_types/paypalpizzastore_nodejs_app.yaml',
  'custom_types/rsyslog.yaml',
  'custom_types/wordpress.yaml',
];

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...yamlFiles(path));
    else if (/\.ya?ml$/.test(entry)) out.push(relative(EXAMPLES, path));
  }
  return out.sort();
}

describe('shared TOSCA examples', () => {
  it('lists every file of the folder', () => {
    const listed = [...Object.keys(VALID), ...Object.keys(INVALID), ...LIBRARIES].sort();
    assert.deepEqual(yamlFiles(EXAMPLES), listed);
  });

  for (const [file, expected] of Object.entries(VALID)) {
    it(`converts ${file}`, () => {
      const v = converted(at(file), { inputs: expected.inputs });
      assert.equal(v.doc.nodes.length, expected.nodes);
    });
    if (expected.missing !== undefined) {
      it(`${file} without inputs names the missing ones`, () => {
        const names = expected.missing!.map((m) => `"${m}"`).join(', ');
        const flags = expected.missing!.map((m) => `--input ${m}=VALUE`).join(' ');
        const basename = file.split('/').pop()!.replaceAll('.', '\\.');
        fails(
          at(file),
          new RegExp(
            `^${basename}: inputs\\.${expected.missing![0]}: required inputs? ${names} (is|are) missing \\(no default\\): give ${flags} \\(line \\d+\\)$`,
          ),
        );
      });
    }
  }

  for (const [file, expected] of Object.entries(INVALID)) {
    const abspathTaken = file.includes('abspath') && existsSync('/tmp/wordpress.yaml');
    it(`refuses ${file}`, { skip: abspathTaken && '/tmp/wordpress.yaml exists here' }, () => {
      fails(at(file), expected.error, { inputs: expected.inputs });
    });
  }

  for (const file of LIBRARIES) {
    it(`${file} is a type library, not a service template`, () => {
      fails(at(file), /: no topology_template: there are no node templates to convert$/);
    });
  }
});

describe('shared examples in detail', () => {
  it('tosca_helloworld.yaml: one Compute, one nil node', () => {
    const v = converted(at('tosca_helloworld.yaml'));
    assert.deepEqual(v.doc, {
      name: 'tosca_helloworld',
      edges: [],
      nodes: [
        {
          id: 0,
          name: 'my_server',
          target: 'my_server',
          engine: 'nil',
          artifact: '',
          args: [],
          output: {},
        },
      ],
    });
  });

  it('tosca_software_component.yaml: create and start on the server', () => {
    const v = converted(at('tosca_software_component.yaml'));
    assert.deepEqual(v.names, ['my_software_create', 'my_software_start', 'server']);
    assert.deepEqual(v.node('my_software_create'), {
      id: 0,
      name: 'my_software_create',
      target: 'server',
      engine: 'toscassh',
      artifact: 'software_install.sh',
      args: [],
      output: {},
    });
    assert.equal(v.node('my_software_start').artifact, 'software_start.sh');
    assert.deepEqual(
      v.edges,
      new Set(['my_software_create->my_software_start', 'server->my_software_create']),
    );
  });

  it('tosca_web_application.yaml: web_app on web_server on server, get_input resolved', () => {
    const v = converted(at('tosca_web_application.yaml'));
    assert.deepEqual(v.names, [
      'web_app_create',
      'web_app_start',
      'web_server_create',
      'web_server_start',
      'server',
    ]);
    for (const name of v.names) assert.equal(v.node(name).target, 'server');
    assert.deepEqual(v.node('web_app_create').args, ['context_root=app']);
    assert.equal(v.node('web_app_create').artifact, 'web_app_install.sh');
    assert.equal(v.node('web_server_start').artifact, 'web_server_start.sh');
    assert.deepEqual(
      v.edges,
      new Set([
        'web_app_create->web_app_start',
        'web_server_create->web_server_start',
        'web_server_start->web_app_create',
        'server->web_server_create',
      ]),
    );
    const custom = converted(at('tosca_web_application.yaml'), {
      inputs: { context_root: 'shop' },
    });
    assert.deepEqual(custom.node('web_app_create').args, ['context_root=shop']);
  });

  it('tosca_single_instance_wordpress.yaml: host chains and the database requirement', () => {
    const v = converted(at('tosca_single_instance_wordpress.yaml'), { inputs: WORDPRESS_INPUTS });
    assert.deepEqual(v.names, [
      'wordpress_create',
      'wordpress_configure',
      'mysql_database_configure',
      'mysql_dbms_create',
      'mysql_dbms_configure',
      'mysql_dbms_start',
      'webserver_create',
      'webserver_start',
      'server',
    ]);
    for (const name of v.names) assert.equal(v.node(name).target, 'server');
    assert.equal(v.node('server').engine, 'nil');
    assert.deepEqual(v.node('wordpress_configure'), {
      id: 1,
      name: 'wordpress_configure',
      target: 'server',
      engine: 'toscassh',
      artifact: 'wordpress/wordpress_configure.sh',
      args: ['wp_db_name=wordpress', 'wp_db_user=wp_user', 'wp_db_password=wp_pass'],
      output: {},
    });
    // the type's interface inputs are definitions without defaults: no args for create
    assert.deepEqual(v.node('wordpress_create').args, []);
    assert.deepEqual(v.node('mysql_dbms_create').args, ['db_root_password=passw0rd']);
    assert.deepEqual(v.node('mysql_dbms_configure').args, ['db_port=3366']);
    assert.deepEqual(v.node('mysql_database_configure').args, [
      'db_name=wordpress',
      'db_user=wp_user',
      'db_password=wp_pass',
      'db_root_password=passw0rd',
    ]);
    assert.deepEqual(
      v.edges,
      new Set([
        'wordpress_create->wordpress_configure',
        'mysql_dbms_create->mysql_dbms_configure',
        'mysql_dbms_configure->mysql_dbms_start',
        'webserver_create->webserver_start',
        // host: webserver started before wordpress is created
        'webserver_start->wordpress_create',
        // database_endpoint (ConnectsTo): mysql_database done before wordpress is configured
        'mysql_database_configure->wordpress_configure',
        'mysql_dbms_start->mysql_database_configure',
        'server->mysql_dbms_create',
        'server->webserver_create',
      ]),
    );
  });

  it('tosca_single_instance_wordpress.yaml: inputs are type-checked (PortDef)', () => {
    fails(
      at('tosca_single_instance_wordpress.yaml'),
      /^tosca_single_instance_wordpress\.yaml: inputs\.db_port: 70000 is not in the range 1 to 65535 \(given db_port=70000\) \(line 32\)$/,
      { inputs: { ...WORDPRESS_INPUTS, db_port: '70000' } },
    );
  });

  it('tosca_nodejs_mongodb_two_instances.yaml: get_attribute of a Compute reads its nil node', () => {
    const v = converted(at('tosca_nodejs_mongodb_two_instances.yaml'));
    assert.deepEqual(v.names, [
      'paypal_pizzastore_configure',
      'paypal_pizzastore_start',
      'nodejs_create',
      'mongo_db_create',
      'mongo_dbms_create',
      'mongo_dbms_configure',
      'mongo_dbms_start',
      'mongo_server',
      'app_server',
    ]);
    assert.deepEqual(v.node('paypal_pizzastore_configure').args, [
      'github_url=http://github.com/paypal/rest-api-sample-app-nodejs.git',
      'mongodb_ip=get_attribute mongo_server:private_address',
    ]);
    assert.equal(v.node('paypal_pizzastore_configure').target, 'app_server');
    assert.equal(v.node('paypal_pizzastore_configure').artifact, 'nodejs/config.sh');
    assert.deepEqual(v.node('mongo_dbms_configure').args, [
      'mongodb_ip=get_attribute mongo_server:private_address',
    ]);
    assert.equal(v.node('mongo_db_create').target, 'mongo_server');
    // a nil node produces nothing: no output is declared on it
    assert.deepEqual(v.node('mongo_server').output, {});
    assert.deepEqual(
      v.edges,
      new Set([
        'paypal_pizzastore_configure->paypal_pizzastore_start',
        'mongo_dbms_create->mongo_dbms_configure',
        'mongo_dbms_configure->mongo_dbms_start',
        'nodejs_create->paypal_pizzastore_configure',
        'mongo_db_create->paypal_pizzastore_configure',
        'app_server->nodejs_create',
        'mongo_dbms_start->mongo_db_create',
        'mongo_server->mongo_dbms_create',
      ]),
    );
  });

  it('tosca_elk.yaml: five servers, ConnectsTo requirements before configure or start', () => {
    const v = converted(at('tosca_elk.yaml'));
    assert.equal(v.doc.name, 'tosca_elk');
    const targets = Object.fromEntries(v.doc.nodes.map((n) => [n.name, n.target]));
    assert.equal(targets.app_collectd_configure, 'app_server');
    assert.equal(targets.app_rsyslog_start, 'app_server');
    assert.equal(targets.paypal_pizzastore_start, 'app_server');
    assert.equal(targets.kibana_configure, 'kibana_server');
    assert.equal(targets.logstash_create, 'logstash_server');
    assert.equal(targets.elasticsearch_start, 'elasticsearch_server');
    assert.equal(targets.mongo_db_create, 'mongo_server');
    assert.deepEqual(v.node('kibana_configure'), {
      id: 12,
      name: 'kibana_configure',
      target: 'kibana_server',
      engine: 'toscassh',
      artifact: 'kibana/config.sh',
      args: [
        'elasticsearch_ip=get_attribute elasticsearch_server:private_address',
        'kibana_ip=get_attribute kibana_server:private_address',
      ],
      output: {},
    });
    assert.deepEqual(v.node('app_rsyslog_configure').args, [
      'logstash_ip=get_attribute logstash_server:private_address',
    ]);
    for (const edge of [
      'app_server->nodejs_create',
      'nodejs_create->paypal_pizzastore_configure',
      'mongo_db_create->paypal_pizzastore_configure',
      'mongo_dbms_start->mongo_db_create',
      // logstash has no configure: its search_endpoint target precedes its start
      'elasticsearch_start->logstash_start',
      'elasticsearch_start->kibana_configure',
      'logstash_start->app_collectd_configure',
      'logstash_start->app_rsyslog_configure',
      'kibana_server->kibana_create',
      'app_server->app_rsyslog_create',
    ]) {
      assert.ok(v.edges.has(edge), edge);
    }
    assert.equal(v.edges.size, 25);
  });

  it('test_host_assignment.yaml: the HostedOn requirement picks the host, not log_endpoint', () => {
    const v = converted(at('test_host_assignment.yaml'));
    assert.equal(v.node('app_collectd_create').target, 'app_server');
    assert.equal(v.node('logstash_start').target, 'logstash_server');
    assert.ok(v.edges.has('app_server->app_collectd_create'));
    assert.ok(v.edges.has('logstash_start->app_collectd_configure'));
    assert.ok(!v.edges.has('logstash_server->app_collectd_create'));
  });

  it('network: ports depend on their server and network', () => {
    const v = converted(at('network/tosca_one_server_three_networks.yaml'));
    assert.equal(v.node('my_port2').engine, 'nil');
    assert.equal(v.node('my_port2').target, 'my_port2');
    assert.ok(v.edges.has('my_server->my_port2'));
    assert.ok(v.edges.has('my_network2->my_port2'));
    assert.equal(v.edges.size, 6);
  });

  it('storage: AttachesTo through a relationship type, a custom type and a relationship template', () => {
    for (const file of [
      'storage/tosca_blockstorage_with_attachment.yaml',
      'storage/tosca_blockstorage_with_custom_relationship_type.yaml',
    ]) {
      const v = converted(at(file), { inputs: STORAGE_INPUTS });
      assert.deepEqual(v.edges, new Set(['my_storage->my_server']), file);
    }
    const v = converted(at('storage/tosca_blockstorage_with_attachment_notation2.yaml'), {
      inputs: STORAGE_INPUTS,
    });
    assert.deepEqual(
      v.edges,
      new Set(['my_storage->my_web_app_tier_1', 'my_storage->my_web_app_tier_2']),
    );
  });

  it('example2.yaml: the cpus input is checked against valid_values', () => {
    fails(
      at('example2.yaml'),
      /^example2\.yaml: inputs\.cpus: 3 is not one of the valid values 1, 2, 4, 8 \(given cpus=3\) \(line 7\)$/,
      { inputs: { cpus: '3' } },
    );
  });
});
