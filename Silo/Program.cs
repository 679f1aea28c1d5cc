using OrleansServe.Hosting;
using OrleansServe.Silo.Extensions;

var builder = WebApplication.CreateBuilder(args);
builder.AddOrleansServeSilo(args);

var app = builder.Build();
app.MapOrleansServeDashboard("/dashboard");
app.MapGet("/", () => Results.Redirect("/dashboard"));

app.Run();
