package dev.slipway.registry;

import io.apicurio.common.apps.config.DynamicConfigPropertyList;
import java.util.List;
import javax.enterprise.inject.Produces;
import javax.inject.Singleton;

/**
 * Stands in for the build step of apicurio-common-app-components-config-index (its deployment jar is not on
 * Maven Central): that step lists the registry's dynamic (run-time-editable) settings. An empty list keeps every
 * setting at its static value, which is all Slipway's tests need.
 */
public class DynamicConfigPropertyListProducer {
    @Produces
    @Singleton
    DynamicConfigPropertyList dynamicConfigPropertyList() {
        return new DynamicConfigPropertyList(List.of());
    }
}
