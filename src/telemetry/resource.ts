// The resource every span and metric carries, and so `target_info` on /metrics. The SDK's
// processDetector would put the command line, the executable path, the user the process runs as
// and its pid there: readable by anyone who can scrape /metrics or read the traces, and useless
// for telling instances apart (service.instance.id does that). Only the runtime is kept.
import {
  defaultResource,
  detectResources,
  envDetector,
  osDetector,
  resourceFromAttributes,
  serviceInstanceIdDetector,
  type Resource,
  type ResourceDetector,
} from '@opentelemetry/resources'

/** process.runtime.* only: which Node answers (useful when comparing releases), nothing about the host. */
export const runtimeDetector: ResourceDetector = {
  detect: () => ({
    attributes: {
      'process.runtime.name': 'nodejs',
      'process.runtime.version': process.versions.node,
      'process.runtime.description': 'Node.js',
    },
  }),
}

/** os.type only: osDetector's os.version is the kernel release, which tells an attacker more than an operator. */
const osTypeDetector: ResourceDetector = {
  detect: (config) => {
    const { 'os.type': type } = osDetector.detect(config).attributes ?? {}
    return { attributes: { 'os.type': type } }
  },
}

/**
 * Used unless OTEL_NODE_RESOURCE_DETECTORS names others. envDetector reads OTEL_RESOURCE_ATTRIBUTES
 * and OTEL_SERVICE_NAME; host.id is left out (read asynchronously, the first scrape would warn).
 */
export const RESOURCE_DETECTORS: ResourceDetector[] = [envDetector, runtimeDetector, osTypeDetector, serviceInstanceIdDetector]

/** The resource for a provider made without NodeSDK (the metrics beside a preloaded TracerProvider). */
export function gatewayResource(serviceName: string): Resource {
  return defaultResource()
    .merge(detectResources({ detectors: RESOURCE_DETECTORS }))
    .merge(resourceFromAttributes({ 'service.name': serviceName }))
}
