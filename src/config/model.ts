// The typed endpoint and manager configuration: what an INI file means once parsed, with every default filled in.

export type CloudKind = 'docker';
export type LoadBalancerKind = 'nginx' | 'none';

/** `[endpoint]`: where the endpoint is reached and how its instances are found. */
export interface EndpointSection {
  /** `http://[host][:port][/path]` or `https://…`; `http://` alone is the default server on port 80. */
  url: string;
  cloud: CloudKind;
  loadbalancer: LoadBalancerKind;
  /** Backend port inside the container. */
  port: number;
  /** Relative weight when several endpoints share one URL. */
  weight: number;
  /** Fixed backend addresses (`host:port`) served besides the managed instances. */
  staticInstances: string[];
  /** HTTP path probed for readiness; empty means "/". Any HTTP answer counts as ready. */
  healthPath: string;
  /** Seconds an instance drains after leaving the balancer before it is deleted. */
  decommissionedTimeout: number;
  /** Seconds a new instance may take to become ready before it is marked errored. */
  unregisteredTimeout: number;
  /** Consecutive failed checks after which an instance is replaced. */
  errorMarks: number;
}

/** `[scaling]`: the bounds and the rules the autoscaler keeps. */
export interface ScalingSection {
  minInstances: number;
  maxInstances: number;
  /** The rules as the operator wrote them (`0 < rate < 1, 2 <= instances`); empty = no rules. */
  rules: string;
  /** Most launches or decommissions in one evaluation round. */
  rampLimit: number;
  /** Requests held (per endpoint, per host) while no instance serves; more are refused with 503. 0 = none held. */
  holdQueue: number;
  /** A burst (the last second's traffic past what the rules allow) starts a scale-up round at once; false = wait for the interval. */
  burstReaction: boolean;
  /** Seconds a held request waits for the first instance before it is answered 504. */
  holdTimeout: number;
}

/** `[cloud:docker]`: how one instance's container is made. */
export interface DockerSection {
  image: string;
  command: string;
  /** Scheduling slots one instance needs. */
  slots: number;
  user: string;
  environment: Record<string, string>;
  /** Bytes; 0 = no limit. */
  memLimit: number;
  dns: string[];
  hostname: string;
}

/** `[loadbalancer:nginx]`: how the balancer serves the endpoint. */
export interface NginxSection {
  stickySessions: boolean;
  /** Idle keepalive connections kept per upstream; 0 = none. */
  keepalive: number;
  /** Seconds an idle upstream keepalive connection is kept (below the backend's idle timeout). */
  keepaliveTimeout: number;
  ssl: boolean;
  sslCertificate: string;
  sslKey: string;
  /** Where to send clients (301) when no instance is available; empty = 502. */
  redirect: string;
}

export interface EndpointConfig {
  endpoint: EndpointSection;
  scaling: ScalingSection;
  docker: DockerSection;
  nginx: NginxSection;
}

/** A manager's own settings (one host). */
export interface ManagerConfig {
  /** Scheduling slots this host offers. */
  slots: number;
}

export const DEFAULT_MANAGER_SLOTS = 1000;
