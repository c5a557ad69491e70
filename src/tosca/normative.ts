/**
 * The TOSCA Simple Profile 1.0 normative types the converter knows without imports, as a
 * TOSCA file. Kept to what conversion reads: derived_from chains, property defaults,
 * attributes, capabilities, requirements with their relationships, and the Standard
 * lifecycle interface. Descriptions are left out; the specification has them.
 */
export const NORMATIVE_TYPES = `
tosca_definitions_version: tosca_simple_yaml_1_0

interface_types:
  tosca.interfaces.Root: {}
  tosca.interfaces.node.lifecycle.Standard:
    derived_from: tosca.interfaces.Root
    create: {}
    configure: {}
    start: {}
    stop: {}
    delete: {}
  tosca.interfaces.relationship.Configure:
    derived_from: tosca.interfaces.Root
    pre_configure_source: {}
    pre_configure_target: {}
    post_configure_source: {}
    post_configure_target: {}
    add_target: {}
    add_source: {}
    target_changed: {}
    remove_target: {}

node_types:
  tosca.nodes.Root:
    attributes:
      tosca_id: { type: string }
      tosca_name: { type: string }
      state: { type: string }
    capabilities:
      feature: { type: tosca.capabilities.Node }
    requirements:
      - dependency:
          capability: tosca.capabilities.Node
          node: tosca.nodes.Root
          relationship: tosca.relationships.DependsOn
          occurrences: [0, UNBOUNDED]
    interfaces:
      Standard: { type: tosca.interfaces.node.lifecycle.Standard }

  tosca.nodes.Compute:
    derived_from: tosca.nodes.Root
    attributes:
      private_address: { type: string }
      public_address: { type: string }
      networks: { type: map }
      ports: { type: map }
    capabilities:
      host: { type: tosca.capabilities.Container }
      binding: { type: tosca.capabilities.network.Bindable }
      os: { type: tosca.capabilities.OperatingSystem }
      scalable: { type: tosca.capabilities.Scalable }
      endpoint: { type: tosca.capabilities.Endpoint.Admin }
    requirements:
      - local_storage:
          capability: tosca.capabilities.Attachment
          node: tosca.nodes.BlockStorage
          relationship: tosca.relationships.AttachesTo
          occurrences: [0, UNBOUNDED]

  tosca.nodes.SoftwareComponent:
    derived_from: tosca.nodes.Root
    properties:
      component_version: { type: version, required: false }
      admin_credential: { type: tosca.datatypes.Credential, required: false }
    requirements:
      - host:
          capability: tosca.capabilities.Container
          node: tosca.nodes.Compute
          relationship: tosca.relationships.HostedOn

  tosca.nodes.WebServer:
    derived_from: tosca.nodes.SoftwareComponent
    capabilities:
      data_endpoint: { type: tosca.capabilities.Endpoint }
      admin_endpoint: { type: tosca.capabilities.Endpoint.Admin }
      host: { type: tosca.capabilities.Container }

  tosca.nodes.WebApplication:
    derived_from: tosca.nodes.Root
    properties:
      context_root: { type: string, required: false }
    capabilities:
      app_endpoint: { type: tosca.capabilities.Endpoint }
    requirements:
      - host:
          capability: tosca.capabilities.Container
          node: tosca.nodes.WebServer
          relationship: tosca.relationships.HostedOn

  tosca.nodes.DBMS:
    derived_from: tosca.nodes.SoftwareComponent
    properties:
      root_password: { type: string, required: false }
      port: { type: integer, required: false }
    capabilities:
      host: { type: tosca.capabilities.Container }

  tosca.nodes.Database:
    derived_from: tosca.nodes.Root
    properties:
      name: { type: string, required: false }
      user: { type: string, required: false }
      password: { type: string, required: false }
      port: { type: integer, required: false }
    capabilities:
      database_endpoint: { type: tosca.capabilities.Endpoint.Database }
    requirements:
      - host:
          capability: tosca.capabilities.Container
          node: tosca.nodes.DBMS
          relationship: tosca.relationships.HostedOn

  tosca.nodes.ObjectStorage:
    derived_from: tosca.nodes.Root
    properties:
      name: { type: string }
      size: { type: scalar-unit.size, required: false }
      maxsize: { type: scalar-unit.size, required: false }
    capabilities:
      storage_endpoint: { type: tosca.capabilities.Endpoint }

  tosca.nodes.BlockStorage:
    derived_from: tosca.nodes.Root
    properties:
      size: { type: scalar-unit.size }
      volume_id: { type: string, required: false }
      snapshot_id: { type: string, required: false }
    attributes:
      volume_id: { type: string }
    capabilities:
      attachment: { type: tosca.capabilities.Attachment }

  tosca.nodes.Container.Runtime:
    derived_from: tosca.nodes.SoftwareComponent
    capabilities:
      host: { type: tosca.capabilities.Container }
      scalable: { type: tosca.capabilities.Scalable }

  tosca.nodes.Container.Application:
    derived_from: tosca.nodes.Root
    requirements:
      - host:
          capability: tosca.capabilities.Container
          node: tosca.nodes.Container.Runtime
          relationship: tosca.relationships.HostedOn

  tosca.nodes.Container.Application.Docker:
    derived_from: tosca.nodes.Container.Application

  tosca.nodes.LoadBalancer:
    derived_from: tosca.nodes.Root
    properties:
      algorithm: { type: string, required: false }
    capabilities:
      client: { type: tosca.capabilities.Endpoint.Public }
    requirements:
      - application:
          capability: tosca.capabilities.Endpoint
          relationship: tosca.relationships.RoutesTo

  tosca.nodes.network.Network:
    derived_from: tosca.nodes.Root
    properties:
      ip_version: { type: integer, required: false, default: 4 }
      cidr: { type: string, required: false }
      start_ip: { type: string, required: false }
      end_ip: { type: string, required: false }
      gateway_ip: { type: string, required: false }
      network_name: { type: string, required: false }
      network_id: { type: string, required: false }
      segmentation_id: { type: string, required: false }
      network_type: { type: string, required: false }
      physical_network: { type: string, required: false }
      dhcp_enabled: { type: boolean, required: false, default: true }
    capabilities:
      link: { type: tosca.capabilities.network.Linkable }

  tosca.nodes.network.Port:
    derived_from: tosca.nodes.Root
    properties:
      ip_address: { type: string, required: false }
      order: { type: integer, required: false, default: 0 }
      is_default: { type: boolean, required: false, default: false }
      ip_range_start: { type: string, required: false }
      ip_range_end: { type: string, required: false }
    attributes:
      ip_address: { type: string }
    requirements:
      - binding:
          capability: tosca.capabilities.network.Bindable
          node: tosca.nodes.Compute
          relationship: tosca.relationships.network.BindsTo
      - link:
          capability: tosca.capabilities.network.Linkable
          node: tosca.nodes.network.Network
          relationship: tosca.relationships.network.LinksTo

  tosca.nodes.network.FloatingIP:
    derived_from: tosca.nodes.Root
    properties:
      floating_network: { type: string }
      floating_ip_address: { type: string, required: false }
      port_id: { type: string, required: false }
    requirements:
      - link:
          capability: tosca.capabilities.network.Linkable
          node: tosca.nodes.network.Port
          relationship: tosca.relationships.network.LinksTo

relationship_types:
  tosca.relationships.Root:
    attributes:
      tosca_id: { type: string }
      tosca_name: { type: string }
    interfaces:
      Configure: { type: tosca.interfaces.relationship.Configure }
  tosca.relationships.DependsOn: { derived_from: tosca.relationships.Root }
  tosca.relationships.HostedOn: { derived_from: tosca.relationships.Root }
  tosca.relationships.ConnectsTo: { derived_from: tosca.relationships.Root }
  tosca.relationships.AttachesTo:
    derived_from: tosca.relationships.Root
    properties:
      location: { type: string }
      device: { type: string, required: false }
  tosca.relationships.RoutesTo: { derived_from: tosca.relationships.ConnectsTo }
  tosca.relationships.network.LinksTo: { derived_from: tosca.relationships.DependsOn }
  tosca.relationships.network.BindsTo: { derived_from: tosca.relationships.DependsOn }

capability_types:
  tosca.capabilities.Root: {}
  tosca.capabilities.Node: { derived_from: tosca.capabilities.Root }
  tosca.capabilities.Container:
    derived_from: tosca.capabilities.Root
    properties:
      num_cpus: { type: integer, required: false }
      cpu_frequency: { type: scalar-unit.frequency, required: false }
      disk_size: { type: scalar-unit.size, required: false }
      mem_size: { type: scalar-unit.size, required: false }
  tosca.capabilities.Container.Docker: { derived_from: tosca.capabilities.Container }
  tosca.capabilities.Endpoint:
    derived_from: tosca.capabilities.Root
    properties:
      protocol: { type: string, default: tcp }
      port: { type: tosca.datatypes.network.PortDef, required: false }
      secure: { type: boolean, required: false, default: false }
      url_path: { type: string, required: false }
      port_name: { type: string, required: false }
      network_name: { type: string, required: false, default: PRIVATE }
      initiator: { type: string, required: false, default: source }
      ports: { type: map, required: false }
    attributes:
      ip_address: { type: string }
  tosca.capabilities.Endpoint.Admin:
    derived_from: tosca.capabilities.Endpoint
    properties:
      secure: { type: boolean, default: true }
  tosca.capabilities.Endpoint.Public:
    derived_from: tosca.capabilities.Endpoint
    properties:
      network_name: { type: string, default: PUBLIC }
      floating: { type: boolean, default: false }
      dns_name: { type: string, required: false }
  tosca.capabilities.Endpoint.Database: { derived_from: tosca.capabilities.Endpoint }
  tosca.capabilities.Attachment: { derived_from: tosca.capabilities.Root }
  tosca.capabilities.OperatingSystem:
    derived_from: tosca.capabilities.Root
    properties:
      architecture: { type: string, required: false }
      type: { type: string, required: false }
      distribution: { type: string, required: false }
      version: { type: version, required: false }
  tosca.capabilities.Scalable:
    derived_from: tosca.capabilities.Root
    properties:
      min_instances: { type: integer, default: 1 }
      max_instances: { type: integer, default: 1 }
      default_instances: { type: integer, required: false }
  tosca.capabilities.network.Linkable: { derived_from: tosca.capabilities.Root }
  tosca.capabilities.network.Bindable: { derived_from: tosca.capabilities.Root }

data_types:
  tosca.datatypes.Root: {}
  tosca.datatypes.network.PortDef:
    derived_from: tosca.datatypes.Root
    type: integer
    constraints:
      - in_range: [1, 65535]
  tosca.datatypes.network.NetworkInfo:
    derived_from: tosca.datatypes.Root
    properties:
      network_name: { type: string }
      network_id: { type: string }
      addresses: { type: list }
  tosca.datatypes.network.PortInfo:
    derived_from: tosca.datatypes.Root
    properties:
      port_name: { type: string }
      port_id: { type: string }
      network_id: { type: string }
      mac_address: { type: string }
      addresses: { type: list }
  tosca.datatypes.network.PortSpec:
    derived_from: tosca.datatypes.Root
    properties:
      protocol: { type: string, default: tcp }
      target: { type: tosca.datatypes.network.PortDef, required: false }
      source: { type: tosca.datatypes.network.PortDef, required: false }
  tosca.datatypes.Credential:
    derived_from: tosca.datatypes.Root
    properties:
      protocol: { type: string, required: false }
      token_type: { type: string, default: password }
      token: { type: string }
      keys: { type: map, required: false }
      user: { type: string, required: false }
`;
