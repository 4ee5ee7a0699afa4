import { Construct } from 'constructs';
import { MonitorDiagnosticSetting, MonitorDiagnosticSettingConfig } from '@cdktf/provider-azurerm/lib/monitor-diagnostic-setting';
import { ILogAnalyticsWorkspace, IResourceGroup } from '../core/references';
import {
  AlertOptions,
  AlertTarget,
  CreatedAlert,
  CreatedLogAlert,
  CreatedMetricAlert,
  CreatedPrometheusAlert,
  createLogAlert,
  createMetricAlert,
  LogAlertDefinition,
  MetricAlertDefinition,
} from './alerts';
import { AIRFLOW_PROMETHEUS_RULES, AirflowPrometheusAlertOptions, createAirflowPrometheusAlerts, PrometheusRuleGroupMaker } from './airflow-prometheus-alerts';

/**
 * What the facade hands each `XxxMonitoring`: where resources go and how alerts are made
 * (cdk-monitoring-constructs' `MonitoringScope`). Not exported from the package.
 */
export interface MonitoringScope {
  /** Construct scope of what is created: the facade, so Terraform addresses do not depend on the dispatch. */
  readonly scope: Construct;
  /** Resource group of everything created. */
  readonly resourceGroup: IResourceGroup;
  /** Region of regional resources. */
  readonly location: string;
  /** Prefix of Azure names (the plan name). */
  readonly namePrefix: string;
  /** The workspace every signal goes to. */
  readonly workspace: ILogAnalyticsWorkspace;
  /** Tags of every taggable resource. */
  readonly tags?: Readonly<Record<string, string>>;
  /** Makes the alerts, with the facade's defaults and action group. */
  readonly alerts: AlertRegistry;
  /** Makes the diagnostic settings, each sending to the workspace. */
  readonly diagnosticSettings: DiagnosticSettingRegistry;
}

/** Makes every diagnostic setting of one facade, to its workspace, and remembers it for `createdDiagnosticSettings()`. */
export class DiagnosticSettingRegistry {
  private readonly created: MonitorDiagnosticSetting[] = [];

  constructor(
    private readonly scope: Construct,
    private readonly workspace: ILogAnalyticsWorkspace,
  ) {}

  /** A diagnostic setting sending to the workspace, with construct id `id` in the facade. */
  public add(id: string, config: Omit<MonitorDiagnosticSettingConfig, 'logAnalyticsWorkspaceId'>): MonitorDiagnosticSetting {
    const setting = new MonitorDiagnosticSetting(this.scope, id, { ...config, logAnalyticsWorkspaceId: this.workspace.id });
    this.created.push(setting);
    return setting;
  }

  /** Every diagnostic setting made so far, in creation order (a copy). */
  public list(): readonly MonitorDiagnosticSetting[] {
    return [...this.created];
  }
}

/**
 * Makes every alert of one facade (its defaults, its action group) and remembers it for
 * `createdAlerts()`. Two alerts never share a name, so several alerts on one signal need one each.
 */
export class AlertRegistry {
  private readonly created: CreatedAlert[] = [];

  constructor(
    private readonly target: AlertTarget,
    private readonly workspaceId: string,
  ) {}

  /** A log search alert on the workspace. */
  public log(definition: LogAlertDefinition, options: AlertOptions = {}): CreatedLogAlert {
    return this.remember(
      this.named(() => {
        this.claim(definition);
        return createLogAlert(this.target, this.workspaceId, definition, options);
      }),
    );
  }

  /** A metric alert on one resource. */
  public metric(resourceId: string, definition: MetricAlertDefinition, options: AlertOptions = {}): CreatedMetricAlert {
    return this.remember(
      this.named(() => {
        this.claim(definition);
        return createMetricAlert(this.target, resourceId, definition, options);
      }),
    );
  }

  /** The Kubernetes host's Prometheus alert rules, in the rule group `makeGroup` makes (in the host). */
  public airflowPrometheus(options: AirflowPrometheusAlertOptions, makeGroup: PrometheusRuleGroupMaker): CreatedPrometheusAlert[] {
    return this.named(() => {
      AIRFLOW_PROMETHEUS_RULES.forEach((rule) => this.claim(rule));
      const alerts = createAirflowPrometheusAlerts(this.target.actionGroupId, options, this.target.defaults, makeGroup);
      alerts.forEach((alert) => this.remember(alert));
      return alerts;
    });
  }

  /** Every alert made so far, in creation order (a copy). */
  public list(): readonly CreatedAlert[] {
    return [...this.created];
  }

  private claim(definition: { readonly name: string; readonly optionsProp: string }): void {
    if (this.created.some((alert) => alert.name === definition.name)) {
      throw new Error(`${definition.optionsProp}: an alert named "${definition.name}" exists already; give each alert its own name`);
    }
  }

  private named<T>(make: () => T): T {
    return namingFacade(this.target.scope, make);
  }

  private remember<T extends CreatedAlert>(alert: T): T {
    this.created.push(alert);
    return alert;
  }
}

/**
 * An option the facade refuses (`migrationFailedAlert.severity must be ...`) names the facade it was
 * given to, as the constructs' other prop checks do: a stack or app with several has one path per
 * facade. Plain Errors only (anything else is a bug), and only once.
 */
export function namingFacade<T>(facade: Construct, make: () => T): T {
  try {
    return make();
  } catch (error) {
    const path = facade.node.path;
    if (error instanceof Error && error.constructor === Error && !error.message.startsWith(`${path}: `)) {
      throw new Error(`${path}: ${error.message}`);
    }
    throw error;
  }
}
