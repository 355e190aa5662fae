import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { ThrottlerModule } from '@nestjs/throttler';
import { APP_CONFIG, AppConfig } from '@dockyard/config';
import { EnvironmentsModule } from '@dockyard/environments';
import { EventsModule } from '@dockyard/events';
import { PipelineModule } from '@dockyard/pipeline';
import { OperationsModule } from '@dockyard/operations';
import { AuthGuard } from './auth/auth.guard';
import { BuildsController } from './builds/builds.controller';
import { LoginThrottle, loginThrottlers } from './auth/login-throttle';
import { Sessions } from './auth/sessions';
import { DashboardController } from './dashboard/dashboard.controller';
import { HooksDashboardController } from './dashboard/hooks.dashboard';
import { WaitingDashboardController } from './dashboard/waiting.dashboard';
import { DomainErrorFilter } from './domain-error.filter';
import { DeliveryMetricsController } from './events/delivery-metrics.controller';
import { EventsController } from './events/events.controller';
import { HooksController } from './events/hooks.controller';
import { DeploysController } from './deploys/deploys.controller';
import { EnvironmentsController } from './environments/environments.controller';
import { HealthController } from './health/health.controller';
import { MetricsController } from './metrics.controller';
import { ProjectsController } from './projects/projects.controller';
import { SecretsController } from './secrets/secrets.controller';
import { PromotionsController } from './promotions/promotions.controller';
import { SignOffController } from './promotions/signoff.controller';
import { TokensController } from './tokens.controller';
import { WebhooksController } from './webhooks/webhooks.controller';

/** The HTTP side: webhooks, the REST API, health and metrics. */
@Module({
  imports: [
    TerminusModule.forRoot({ logger: false }),
    ThrottlerModule.forRootAsync({ inject: [APP_CONFIG], useFactory: (config: AppConfig) => loginThrottlers(config) }),
    PipelineModule,
    OperationsModule,
    EventsModule,
    EnvironmentsModule,
  ],
  controllers: [
    HealthController,
    MetricsController,
    WebhooksController,
    BuildsController,
    ProjectsController,
    PromotionsController,
    SignOffController,
    TokensController,
    SecretsController,
    EnvironmentsController,
    DeploysController,
    DashboardController,
    HooksDashboardController,
    WaitingDashboardController,
    EventsController,
    HooksController,
    DeliveryMetricsController,
  ],
  providers: [
    Sessions,
    LoginThrottle,
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_FILTER, useClass: DomainErrorFilter },
  ],
})
export class ApiModule {}
