import type { IncomingHttpHeaders } from 'node:http';

/** A request as route handlers see it. */
export interface ArmRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body (undefined when there was none). */
  body: unknown;
  /** Path parameters of the route template, URL-decoded. */
  params: Record<string, string>;
  apiVersion?: string;
  /** Base URL of the server (for links such as operation URLs). */
  baseUrl: string;
}

export interface ArmResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export type RouteHandler = (req: ArmRequest) => ArmResponse | Promise<ArmResponse>;

export interface RouteOptions {
  /**
   * A sandbox control route (/_sandbox/…): no bearer token, no api-version, never faulted, not in the
   * request log.
   */
  control?: boolean;
}

export interface Route {
  method: string;
  template: string;
  handler: RouteHandler;
  options: RouteOptions;
  regex: RegExp;
  paramNames: string[];
}

export type RouteMatch =
  | { kind: 'route'; route: Route; params: Record<string, string> }
  | { kind: 'method-not-allowed' }
  | { kind: 'none' };

/**
 * Routes by method and path template (`/subscriptions/{subscriptionId}/…`, `{name}` matches one segment or
 * part of one). Literal parts match case-insensitively, as ARM does.
 */
export class Router {
  private readonly routes: Route[] = [];

  add(method: string, template: string, handler: RouteHandler, options: RouteOptions = {}): void {
    const paramNames: string[] = [];
    const pattern = template
      .split(/(\{\w+\})/)
      .map((part) => {
        const param = /^\{(\w+)\}$/.exec(part);
        if (!param) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        paramNames.push(param[1]);
        return '([^/]+?)';
      })
      .join('');
    const regex = new RegExp(`^${pattern}/?$`, 'i');
    this.routes.push({ method: method.toUpperCase(), template, handler, options, regex, paramNames });
  }

  get(template: string, handler: RouteHandler, options?: RouteOptions): void {
    this.add('GET', template, handler, options);
  }
  put(template: string, handler: RouteHandler, options?: RouteOptions): void {
    this.add('PUT', template, handler, options);
  }
  post(template: string, handler: RouteHandler, options?: RouteOptions): void {
    this.add('POST', template, handler, options);
  }
  delete(template: string, handler: RouteHandler, options?: RouteOptions): void {
    this.add('DELETE', template, handler, options);
  }

  match(method: string, path: string): RouteMatch {
    let pathMatched = false;
    for (const route of this.routes) {
      const m = route.regex.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (route.method !== method.toUpperCase()) continue;
      const params: Record<string, string> = {};
      route.paramNames.forEach((name, i) => {
        params[name] = decodeURIComponent(m[i + 1]);
      });
      return { kind: 'route', route, params };
    }
    return pathMatched ? { kind: 'method-not-allowed' } : { kind: 'none' };
  }
}
