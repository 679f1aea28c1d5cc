var builder = WebApplication.CreateBuilder(args);
builder.AddOrleansServeApi(args);

var app = builder.Build();
app.UseOrleansServeErrors();
app.UseApiKeyAccess();
app.UseRateLimiter();
app.MapOpenApi().RequireAccess(ApiAccess.Inference);
app.MapHealthApi();
app.MapModelsApi();
app.MapInferenceApi();
app.MapRepositoryApi();
app.MapStatisticsApi();
app.MapAdminApi();
app.MapOrleansServeDashboard();
app.MapFallback(ApiErrors.NoSuchEndpoint).RequireAccess(ApiAccess.Inference);

app.Run();

/// <summary>Entry point; public so functional tests can host the app.</summary>
public partial class Program;
