using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;

namespace Cellar.Daemon;

/// <summary>
/// A ProblemDetails answer whose status is part of its type, so a handler returning it in <c>Results&lt;...&gt;</c>
/// has it listed in the OpenAPI document. ASP.NET's own <see cref="ProblemHttpResult"/> learns its status only when
/// it runs, and the document leaves it out. One writes the body all the same: <c>application/problem+json</c>, with
/// the trace id.
/// </summary>
internal sealed class Problem<TStatus>(string detail, string? title = null) : IResult, IEndpointMetadataProvider
    where TStatus : IHttpStatus
{
    private readonly ProblemHttpResult _problem = TypedResults.Problem(detail, statusCode: TStatus.Code, title: title);

    public Task ExecuteAsync(HttpContext httpContext) => _problem.ExecuteAsync(httpContext);

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(TStatus.Code, typeof(ProblemDetails), ["application/problem+json"]));
}
